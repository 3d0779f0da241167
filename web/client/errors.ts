/**
 * The client's error catalogue (web/client). An error the CSM answered keeps the CSM's own
 * `{ code, message, retryable }` body (a `CSM_ERR_*` code); failures that happen before or instead of
 * an answer get a `WEB_ERR_CLIENT_*` code from this table.
 */
export const CLIENT_ERRORS = {
  WEB_ERR_CLIENT_NETWORK: { message: 'the CSM could not be reached', retryable: true },
  WEB_ERR_CLIENT_BAD_RESPONSE: { message: 'the CSM answered with a body the client does not understand', retryable: true },
  WEB_ERR_CLIENT_CLOSED: { message: 'the client was closed', retryable: false },
  WEB_ERR_CLIENT_GAVE_UP: { message: 'too many failed attempts to (re)connect', retryable: false },
  WEB_ERR_CLIENT_REFUSED: { message: 'the streaming unit refused the connection for good', retryable: false },
  WEB_ERR_CLIENT_RTP_TAP_UNAVAILABLE: { message: "this receiver cannot be tapped for the rtp carrier's packets", retryable: false },
  WEB_ERR_CLIENT_RTP_TAP_FAILED: { message: "the rtp carrier's tap failed", retryable: false },
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/** A failed CSM call: `code` is a CSM_ERR_* code from the answer, or a WEB_ERR_CLIENT_* code. */
export class CsmApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    /** HTTP status, 0 when there was no answer */
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsmApiError';
  }

  static client(code: ClientErrorCode, detail?: string, cause?: unknown): CsmApiError {
    const spec = CLIENT_ERRORS[code];
    return new CsmApiError(code, detail ? `${spec.message}: ${detail}` : spec.message, spec.retryable, 0, cause === undefined ? undefined : { cause });
  }
}

/** A media connection that ended for good (refused, gave up, or closed by the caller). */
export class MediaClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    detail: string,
    /** the last WebSocket close code seen, 0 when none */
    readonly closeCode = 0,
  ) {
    super(`${CLIENT_ERRORS[code].message}: ${detail}`);
    this.name = 'MediaClientError';
  }
}

/** What a CSM call inside a reconnect loop came to: its value, or whether asking again can help. */
export type CsmAttempt<T> = { ok: true; value: T } | { ok: false; final: string | null };

/**
 * Runs one CSM call of a publisher's or viewer's reconnect loop. A failure is reported through
 * `onError`; it is final (with the reason to close with) when the CSM says retrying cannot help.
 */
export async function attemptCsm<T>(call: () => Promise<T>, onError: (error: Error) => void): Promise<CsmAttempt<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    onError(err);
    return { ok: false, final: err instanceof CsmApiError && !err.retryable ? `${err.code}: ${err.message}` : null };
  }
}
