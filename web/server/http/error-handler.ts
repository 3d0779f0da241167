/**
 * One place turns every failure into the browser's error body `{ code, message, retryable }`:
 * - a WebError keeps its status, code and retryable flag from web/server/errors.ts;
 * - a CsmAnswerError (the CSM's own answer to a forwarded call) goes out as the CSM gave it;
 * - a schema validation failure is WEB_ERR_VALIDATION; a body fastify could not take is
 *   WEB_ERR_BAD_JSON, WEB_ERR_BODY_TOO_LARGE or WEB_ERR_UNSUPPORTED_MEDIA_TYPE (other client errors
 *   of fastify's keep their status as WEB_ERR_VALIDATION);
 * - an unknown route is WEB_ERR_NOT_FOUND, the rate limiter's refusal WEB_ERR_RATE_LIMITED, a path
 *   parameter past the router's limit WEB_ERR_URL_TOO_LONG, a malformed URL WEB_ERR_BAD_REQUEST
 *   (frameworkErrors), and what Node's HTTP parser refuses is answered in the same shape
 *   (clientErrorHandler);
 * - anything else is WEB_ERR_INTERNAL: logged with its stack, answered with the catalogue message.
 * A 503 carries Retry-After (the CSM's own value when it sent one, else 1 s: about the time a CSM
 * takeover or a sync takes).
 *
 * fastify's own 503-while-closing answers before any hook with a body of its own, so it is turned off
 * (return503OnClosing: false in buildWebHttp) and replaced by the `closing` check here.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { installErrorHandling as installHttpErrorHandling, sendError, type ErrorHandlingOptions, type MappedError } from '../../../protocol/http-errors.js';
import { CsmAnswerError, WebError, WebErrors, type WebErrorCode } from '../errors.js';

function fromCatalogue(code: WebErrorCode, message?: string, status?: number): MappedError {
  const entry = WebErrors[code];
  return { status: status ?? entry.status, body: { code, message: message ?? entry.message, retryable: entry.retryable } };
}

/** fastify's errors about the request itself, each with a code of ours; the message is the catalogue's, never the request echoed */
const FASTIFY_REQUEST_ERRORS: Readonly<Record<string, WebErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'WEB_ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'WEB_ERR_BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'WEB_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'WEB_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_MAX_PARAM_LENGTH: 'WEB_ERR_URL_TOO_LONG',
  FST_ERR_BAD_URL: 'WEB_ERR_BAD_REQUEST',
};

/** fastify's and its plugins' errors carry a statusCode; only client errors are trusted to describe themselves */
function clientStatus(error: Partial<FastifyError>): number | null {
  const status = error.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500 ? status : null;
}

export function mapError(error: unknown): MappedError {
  if (error instanceof WebError) return { status: error.status, body: error.body };
  if (error instanceof CsmAnswerError) return { status: error.status, body: { ...error.body }, retryAfter: error.retryAfter };
  const fastifyError = (typeof error === 'object' && error !== null ? error : {}) as Partial<FastifyError>;
  if (fastifyError.validation) return fromCatalogue('WEB_ERR_VALIDATION', fastifyError.message);
  const requestCode = typeof fastifyError.code === 'string' ? FASTIFY_REQUEST_ERRORS[fastifyError.code] : undefined;
  if (requestCode) return fromCatalogue(requestCode);
  const status = clientStatus(fastifyError);
  if (status === 404) return fromCatalogue('WEB_ERR_NOT_FOUND');
  if (status === 429) return fromCatalogue('WEB_ERR_RATE_LIMITED', fastifyError.message);
  if (status !== null) return fromCatalogue('WEB_ERR_VALIDATION', fastifyError.message ?? WebErrors.WEB_ERR_VALIDATION.message, status);
  return fromCatalogue('WEB_ERR_INTERNAL');
}

/**
 * fastify's `frameworkErrors` option: the router's own refusals (a path parameter over maxParamLength,
 * a malformed URL) otherwise answer in fastify's shape, echoing the whole URL, before any handler.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, error, HANDLING);
}

/**
 * fastify's `clientErrorHandler` option: a request Node's HTTP parser refused (not HTTP, headers too
 * large, too slow) never reaches fastify's routing; it is answered here in the same error shape, then
 * the socket is closed, as fastify's default handler does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: WebErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'WEB_ERR_REQUEST_TIMEOUT' : error.code === 'HPE_HEADER_OVERFLOW' ? 'WEB_ERR_HEADERS_TOO_LARGE' : 'WEB_ERR_BAD_REQUEST';
  const { status, body } = fromCatalogue(code);
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy();
}

const HANDLING: ErrorHandlingOptions = {
  map: mapError,
  internalCode: 'WEB_ERR_INTERNAL',
  closing: () => new WebError('WEB_ERR_CLOSING'),
  notFound: (what) => new WebError('WEB_ERR_NOT_FOUND', what),
};

export function installErrorHandling(app: FastifyInstance): void {
  installHttpErrorHandling(app, HANDLING);
}
