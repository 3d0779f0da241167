/**
 * One place turns every failure into the API's error body `{ code, message, retryable }` with a
 * CSM_ERR_* code from csm/errors.ts:
 * - a CsmError keeps its own status, code and retryable flag;
 * - a schema validation failure, or a body fastify could not parse (bad JSON, wrong content type,
 *   too large), is CSM_ERR_VALIDATION with fastify's status (400, 413, 415);
 * - an unknown route is CSM_ERR_NOT_FOUND, the rate limiter's refusal CSM_ERR_RATE_LIMITED;
 * - anything else is CSM_ERR_INTERNAL: logged with its stack, answered with the catalogue message only.
 * A 503 (no capacity, not the active CSM, closing) carries `Retry-After: 1`: capacity frees up and a
 * takeover completes in about that time, and the VIP then leads the retry to the CSM that serves.
 *
 * fastify's own 503-while-closing answers before any hook with a body of its own, so it is turned
 * off (return503OnClosing: false in buildCsmHttp) and replaced by the `closing` check here, which
 * answers CSM_ERR_CLOSING in the same shape.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { installErrorHandling as installHttpErrorHandling, type MappedError } from '../../protocol/http-errors.js';
import { CsmError, CsmErrors, type CsmErrorCode } from '../errors.js';

function fromCatalogue(code: CsmErrorCode, message?: string, status?: number): MappedError {
  const entry = CsmErrors[code];
  return { status: status ?? entry.status, body: { code, message: message ?? entry.message, retryable: entry.retryable } };
}

/** fastify's and its plugins' errors carry a statusCode; only client errors are trusted to describe themselves */
function clientStatus(error: Partial<FastifyError>): number | null {
  const status = error.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500 ? status : null;
}

export function mapError(error: unknown): MappedError {
  if (error instanceof CsmError) return { status: error.status, body: error.body };
  const fastifyError = (typeof error === 'object' && error !== null ? error : {}) as Partial<FastifyError>;
  if (fastifyError.validation) return fromCatalogue('CSM_ERR_VALIDATION', fastifyError.message, 400);
  const status = clientStatus(fastifyError);
  if (status === 404) return fromCatalogue('CSM_ERR_NOT_FOUND');
  if (status === 429) return fromCatalogue('CSM_ERR_RATE_LIMITED', fastifyError.message);
  if (status !== null) return fromCatalogue('CSM_ERR_VALIDATION', fastifyError.message ?? CsmErrors.CSM_ERR_VALIDATION.message, status);
  return fromCatalogue('CSM_ERR_INTERNAL');
}

export function installErrorHandling(app: FastifyInstance): void {
  installHttpErrorHandling(app, {
    map: mapError,
    internalCode: 'CSM_ERR_INTERNAL',
    closing: () => new CsmError('CSM_ERR_CLOSING'),
    notFound: (what) => new CsmError('CSM_ERR_NOT_FOUND', what),
  });
}
