/**
 * The admin console's error catalogue: every code declared once with its HTTP status and message.
 * The CSM's own refusals of a forwarded action (CSM_ERR_*) pass through as the CSM gave them
 * (CsmAnswerError); these codes are for what the console itself decides.
 */
import { httpCatalogueError, type HttpErrorBody, type HttpErrorEntry } from '../protocol/http-errors.js';

export const ConsoleErrors = {
  ADMIN_ERR_UNAUTHENTICATED: { status: 401, message: 'sign in first', retryable: false },
  ADMIN_ERR_BAD_CREDENTIALS: { status: 401, message: 'wrong user name or password', retryable: false },
  ADMIN_ERR_CSRF: { status: 403, message: 'missing or wrong x-csrf-token header', retryable: false },
  ADMIN_ERR_VALIDATION: { status: 400, message: 'the request did not match its schema', retryable: false },
  ADMIN_ERR_NOT_FOUND: { status: 404, message: 'no such route', retryable: false },
  ADMIN_ERR_RATE_LIMITED: { status: 429, message: 'too many requests', retryable: true },
  ADMIN_ERR_TOO_MANY_FEEDS: { status: 503, message: 'too many live feeds open', retryable: true },
  ADMIN_ERR_CSM_UNAVAILABLE: { status: 503, message: 'the cluster manager cannot be reached; try again shortly', retryable: true },
  ADMIN_ERR_CSM_REFUSED: { status: 502, message: "the cluster manager refused the console's credentials (csmUser, csmPassword)", retryable: false },
  ADMIN_ERR_CSM_BAD_RESPONSE: { status: 502, message: 'the cluster manager answered with something the console does not understand', retryable: true },
  ADMIN_ERR_CLOSING: { status: 503, message: 'the admin console is shutting down', retryable: true },
  ADMIN_ERR_INTERNAL: { status: 500, message: 'internal error', retryable: true },
} as const satisfies Record<string, HttpErrorEntry>;

export type ConsoleErrorCode = keyof typeof ConsoleErrors;

export class ConsoleError extends httpCatalogueError<ConsoleErrorCode>('ConsoleError', ConsoleErrors) {}

/** The CSM's own error answer to a forwarded action, handed on with its status and body. */
export class CsmAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly body: HttpErrorBody,
    readonly retryAfter: string | null,
  ) {
    super(`${body.code}: ${body.message}`);
    this.name = 'CsmAnswerError';
  }
}
