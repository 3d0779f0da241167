/**
 * The CSM's error catalogue (fastify's FST_ERR_* pattern): every code declared once with its HTTP
 * status and message. Control-link responses carry the same codes. `retryable` tells a client it may
 * simply ask again (capacity being freed, a takeover in progress).
 */
import { httpCatalogueError, type HttpErrorEntry } from '../protocol/http-errors.js';

export const CsmErrors = {
  CSM_ERR_NO_SUCH_UNIT: { status: 404, message: 'no such unit', retryable: false },
  CSM_ERR_NO_SUCH_CHANNEL: { status: 404, message: 'no such channel', retryable: false },
  CSM_ERR_NO_CAPACITY: { status: 503, message: 'no healthy unit has a free group', retryable: true },
  CSM_ERR_UNIT_NOT_EMPTY: { status: 409, message: 'the unit still serves groups; evacuate it first', retryable: false },
  CSM_ERR_UNIT_STATE: { status: 409, message: 'the unit is not in a state that allows this', retryable: false },
  CSM_ERR_BAD_SECRET: { status: 401, message: 'wrong cluster secret', retryable: false },
  CSM_ERR_STALE_EPOCH: { status: 409, message: 'a newer CSM epoch exists; this CSM no longer writes', retryable: true },
  CSM_ERR_NOT_ACTIVE: { status: 503, message: 'this CSM is not the active one', retryable: true },
  CSM_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the shared store cannot be reached; the promotion is retried until it can', retryable: true },
  CSM_ERR_NO_SHARED_STORE: { status: 409, message: 'roles need a shared store (--redis); with the in-memory store this CSM is always active', retryable: false },
  CSM_ERR_OPS_FORBIDDEN: { status: 403, message: 'the ops API only answers the addresses in opsAllowFrom (loopback by default)', retryable: false },
  CSM_ERR_UNAUTHORIZED: { status: 401, message: 'credentials required (operator login or service token)', retryable: false },
  CSM_ERR_BAD_PUBLISHER_KEY: { status: 403, message: "wrong publisher key for this channel", retryable: false },
  CSM_ERR_VALIDATION: { status: 400, message: 'the request did not match its schema', retryable: false },
  CSM_ERR_NOT_FOUND: { status: 404, message: 'no such route', retryable: false },
  CSM_ERR_RATE_LIMITED: { status: 429, message: 'too many requests', retryable: true },
  CSM_ERR_CLOSING: { status: 503, message: 'the CSM is shutting down', retryable: true },
  CSM_ERR_INTERNAL: { status: 500, message: 'internal error', retryable: true },
} as const satisfies Record<string, HttpErrorEntry>;

export type CsmErrorCode = keyof typeof CsmErrors;

export class CsmError extends httpCatalogueError<CsmErrorCode>('CsmError', CsmErrors) {
  get csmCode(): CsmErrorCode {
    return this.code;
  }
}
