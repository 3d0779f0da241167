/**
 * The web server's error catalogue (fastify's FST_ERR_* pattern): every code declared once with its
 * HTTP status and message. Browsers get `{ code, message, retryable }`. The CSM's own answers to
 * open, join, publish and end pass through unchanged (their CSM_ERR_* codes, statuses and
 * Retry-After: see CsmAnswerError); these codes are for what the web server itself decides.
 */
import { httpCatalogueError, type HttpErrorEntry } from '../../protocol/http-errors.js';

export const WebErrors = {
  WEB_ERR_NO_SUCH_CHANNEL: { status: 404, message: 'no such channel', retryable: false },
  WEB_ERR_VALIDATION: { status: 400, message: 'the request did not match its schema', retryable: false },
  WEB_ERR_BAD_JSON: { status: 400, message: 'the body is not valid JSON', retryable: false },
  WEB_ERR_BODY_TOO_LARGE: { status: 413, message: 'the request body is too large', retryable: false },
  WEB_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'send the body as application/json', retryable: false },
  WEB_ERR_URL_TOO_LONG: { status: 414, message: 'a part of the path is too long', retryable: false },
  WEB_ERR_BAD_REQUEST: { status: 400, message: 'not a well-formed HTTP request', retryable: false },
  WEB_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are too large', retryable: false },
  WEB_ERR_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time', retryable: true },
  WEB_ERR_NOT_FOUND: { status: 404, message: 'no such route', retryable: false },
  WEB_ERR_RATE_LIMITED: { status: 429, message: 'too many requests', retryable: true },
  WEB_ERR_CSM_UNAVAILABLE: { status: 503, message: 'the cluster manager cannot be reached; try again shortly', retryable: true },
  WEB_ERR_CSM_BAD_RESPONSE: { status: 502, message: 'the cluster manager answered with something the web server does not understand', retryable: true },
  WEB_ERR_CSM_REFUSED: { status: 502, message: "the cluster manager refused the web server's credentials", retryable: false },
  WEB_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the channel list cannot be read right now', retryable: true },
  WEB_ERR_PAGES_NOT_BUILT: { status: 503, message: 'the pages are not built: run npm run build', retryable: false },
  WEB_ERR_CLOSING: { status: 503, message: 'the web server is shutting down', retryable: true },
  WEB_ERR_INTERNAL: { status: 500, message: 'internal error', retryable: true },
} as const satisfies Record<string, HttpErrorEntry>;

export type WebErrorCode = keyof typeof WebErrors;

export class WebError extends httpCatalogueError<WebErrorCode>('WebError', WebErrors) {
  get webCode(): WebErrorCode {
    return this.code;
  }
}

/**
 * The CSM's own error answer to a forwarded call (a CSM_ERR_* body), handed to the browser as the CSM
 * gave it: same status, same body, and its Retry-After when it sent one.
 */
export class CsmAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code: string; message: string; retryable: boolean },
    /** seconds, as the CSM sent it; null when it sent none */
    readonly retryAfter: string | null,
  ) {
    super(`${body.code}: ${body.message}`);
    this.name = 'CsmAnswerError';
  }
}
