/**
 * Every failure leaves as `{ code, message, retryable }`: a ConsoleError with its catalogue entry, the
 * CSM's own refusal of a forwarded action as the CSM gave it, a schema failure ADMIN_ERR_VALIDATION,
 * the limiter's refusal ADMIN_ERR_RATE_LIMITED, an unknown route ADMIN_ERR_NOT_FOUND, anything else
 * ADMIN_ERR_INTERNAL (logged with its stack).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { installErrorHandling as installHttpErrorHandling, type MappedError } from '../../protocol/http-errors.js';
import { ConsoleError, ConsoleErrors, CsmAnswerError, type ConsoleErrorCode } from '../errors.js';

function fromCatalogue(code: ConsoleErrorCode, message?: string, status?: number): MappedError {
  const entry = ConsoleErrors[code];
  return { status: status ?? entry.status, body: { code, message: message ?? entry.message, retryable: entry.retryable } };
}

export function mapError(error: unknown): MappedError {
  if (error instanceof ConsoleError) return { status: error.status, body: error.body };
  if (error instanceof CsmAnswerError) return { status: error.status, body: { ...error.body }, retryAfter: error.retryAfter };
  const fastifyError = (typeof error === 'object' && error !== null ? error : {}) as Partial<FastifyError>;
  if (fastifyError.validation) return fromCatalogue('ADMIN_ERR_VALIDATION', fastifyError.message);
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return fromCatalogue('ADMIN_ERR_NOT_FOUND');
    if (status === 429) return fromCatalogue('ADMIN_ERR_RATE_LIMITED', fastifyError.message);
    // fastify's own refusals of the body (bad JSON, too large, wrong type): their status, our shape, no echo
    return fromCatalogue('ADMIN_ERR_VALIDATION', undefined, status);
  }
  return fromCatalogue('ADMIN_ERR_INTERNAL');
}

export function installErrorHandling(app: FastifyInstance): void {
  installHttpErrorHandling(app, {
    map: mapError,
    internalCode: 'ADMIN_ERR_INTERNAL',
    closing: () => new ConsoleError('ADMIN_ERR_CLOSING'),
    notFound: (what) => new ConsoleError('ADMIN_ERR_NOT_FOUND', what),
  });
}
