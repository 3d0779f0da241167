/**
 * Typed calls to the CSM's service API (README "HTTP APIs of the CSM"): open a channel, join,
 * resume publishing, end, read a channel. Uses the global `fetch` (browser and Node 20) unless one is
 * injected; the base URL is injected (in production the web server's `/api` proxy or the CSM's VIP).
 *
 * An error answer keeps the CSM's `{ code, message, retryable }` body in a CsmApiError. Answers the
 * CSM marks as "come back" (503: no capacity, not the active CSM, closing; 429: rate limited) are
 * retried here a bounded number of times, with backoff that honours `Retry-After`. A network failure
 * is not retried here (the call may have taken effect): it is thrown as WEB_ERR_CLIENT_NETWORK,
 * retryable, and the Publisher's and Viewer's own loops retry it.
 */
import { backoffDelay, Delay } from '../../protocol/backoff.js';
import type { IngestGrant, JoinResult, OpenChannelResult } from '../../protocol/service-api.js';
import { CsmApiError } from './errors.js';

export type { IngestGrant, JoinResult, OpenChannelResult };

/** `GET /channels/:id` (the fields the client uses; the CSM sends more). */
export interface ChannelInfo {
  channelId: number;
  title: string;
  broadcaster: string;
  [field: string]: unknown;
}

export interface CsmApiOptions {
  /** e.g. `http://127.0.0.1:7000`; the client appends `/api/v1/…` */
  baseUrl: string;
  /** the service token, sent as `Authorization: Bearer …` when set */
  token?: string;
  /** retries of a 503/429 answer (default 3) */
  retries?: number;
  /** backoff between those retries (default 200 … 2000 ms) */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** per request (default 5000 ms) */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const RETRY_STATUSES = new Set([429, 503]);

export class CsmApi {
  readonly #base: string;
  readonly #options: Required<Omit<CsmApiOptions, 'token' | 'baseUrl'>> & { token: string | undefined };
  readonly #delays = new Set<Delay>();

  constructor(options: CsmApiOptions) {
    this.#base = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;
    this.#options = {
      token: options.token,
      retries: options.retries ?? 3,
      retryMinMs: options.retryMinMs ?? 200,
      retryMaxMs: options.retryMaxMs ?? 2000,
      timeoutMs: options.timeoutMs ?? 5000,
      fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
    };
  }

  openChannel(title: string, broadcaster: string): Promise<OpenChannelResult> {
    return this.#call<OpenChannelResult>('POST', '/channels', { title, broadcaster });
  }

  join(channelId: number): Promise<JoinResult> {
    return this.#call<JoinResult>('POST', `/channels/${channelId}/join`, {});
  }

  resumePublisher(channelId: number, publisherKey: string): Promise<IngestGrant> {
    return this.#call<IngestGrant>('POST', `/channels/${channelId}/publish`, { publisherKey });
  }

  async endChannel(channelId: number, publisherKey: string): Promise<void> {
    await this.#call<null>('POST', `/channels/${channelId}/end`, { publisherKey });
  }

  getChannel(channelId: number): Promise<ChannelInfo> {
    return this.#call<ChannelInfo>('GET', `/channels/${channelId}`);
  }

  /** `GET /channels`: every live channel, as the server answered it (callers check what they keep). */
  async listChannels(): Promise<unknown[]> {
    const answer = await this.#call<unknown>('GET', '/channels');
    const channels = (answer as { channels?: unknown } | null)?.channels;
    if (!Array.isArray(channels)) throw CsmApiError.client('WEB_ERR_CLIENT_BAD_RESPONSE', 'GET /channels: no channel list in the answer');
    return channels;
  }

  /** Cancels pending retry waits (the calls then fail with their last answer). */
  close(): void {
    for (const delay of this.#delays) delay.cancel();
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { error, value, retryAfterMs } = await this.#once<T>(method, path, body);
      if (!error) return value as T;
      if (!RETRY_STATUSES.has(error.status) || !error.retryable || attempt > this.#options.retries) throw error;
      const delay = new Delay();
      this.#delays.add(delay);
      const waitMs = Math.max(retryAfterMs, backoffDelay(attempt - 1, { minMs: this.#options.retryMinMs, maxMs: this.#options.retryMaxMs }));
      const ran = await delay.wait(Math.min(waitMs, this.#options.retryMaxMs));
      this.#delays.delete(delay);
      if (!ran) throw error;
    }
  }

  async #once<T>(method: string, path: string, body: unknown): Promise<{ error?: CsmApiError; value?: T; retryAfterMs: number }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    let response: Response;
    let text: string;
    try {
      response = await this.#options.fetch(`${this.#base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      return { error: CsmApiError.client('WEB_ERR_CLIENT_NETWORK', `${method} ${path}: ${String(cause)}`, cause), retryAfterMs: 0 };
    }
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch (cause) {
        return { error: CsmApiError.client('WEB_ERR_CLIENT_BAD_RESPONSE', `${method} ${path}: status ${response.status}, not JSON`, cause), retryAfterMs: 0 };
      }
    }
    if (response.ok) return { value: parsed as T, retryAfterMs: 0 };
    const retryAfterMs = Math.max(0, Number(response.headers.get('retry-after')) || 0) * 1000;
    if (isErrorBody(parsed)) return { error: new CsmApiError(parsed.code, parsed.message, parsed.retryable, response.status), retryAfterMs };
    const error = CsmApiError.client('WEB_ERR_CLIENT_BAD_RESPONSE', `${method} ${path}: status ${response.status} without an error body`);
    return { error: new CsmApiError(error.code, error.message, response.status >= 500, response.status), retryAfterMs };
  }
}

function isErrorBody(value: unknown): value is { code: string; message: string; retryable: boolean } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string' && typeof v.retryable === 'boolean';
}
