/**
 * Every call the console makes to the CSM's admin API: HTTP Basic with the console's own CSM account,
 * and, for actions, `X-OnAir-Actor: <signed-in operator>` so the CSM's event log names who acted (the
 * CSM honours it only from accounts in its `actorDelegates`). No retries: the live feed polls again
 * in a second and an operator can press again.
 *
 * Failures: the CSM's own error answer → CsmAnswerError; unreachable, timed out or a bare 5xx →
 * ADMIN_ERR_CSM_UNAVAILABLE; 401 → ADMIN_ERR_CSM_REFUSED (a configuration error, logged); anything
 * not JSON → ADMIN_ERR_CSM_BAD_RESPONSE.
 */
import type { Logger } from '../protocol/logger.js';
import { ConsoleError, CsmAnswerError } from './errors.js';

export interface CsmAdminOptions {
  baseUrl: string;
  user: string;
  password: string;
  timeoutMs: number;
}

export const ACTOR_HEADER = 'x-onair-actor';

export class CsmAdmin {
  readonly #authorization: string;
  readonly #base: string;

  constructor(
    readonly options: CsmAdminOptions,
    private readonly logger: Logger,
  ) {
    this.#authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.#base = options.baseUrl.replace(/\/+$/, '');
  }

  /** GET /admin/v1<path> */
  get<T>(path: string): Promise<T> {
    return this.#call<T>('GET', path, undefined, undefined);
  }

  /** an action, logged by the CSM as done by `actor` */
  act<T>(method: 'POST' | 'DELETE', path: string, actor: string, body?: unknown): Promise<T> {
    return this.#call<T>(method, path, actor, body);
  }

  async #call<T>(method: string, path: string, actor: string | undefined, body: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: this.#authorization, accept: 'application/json' };
    if (actor !== undefined) headers[ACTOR_HEADER] = actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.#base}/admin/v1${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new ConsoleError('ADMIN_ERR_CSM_UNAVAILABLE', undefined, { cause: error });
    }
    const text = await response.text().catch(() => '');
    if (response.status === 204) return undefined as T;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (response.ok) {
      if (parsed === undefined) throw new ConsoleError('ADMIN_ERR_CSM_BAD_RESPONSE', `${method} ${path}`);
      return parsed as T;
    }
    if (response.status === 401) {
      this.logger.error({ path }, "the CSM refused the console's credentials: check csmUser/csmPassword against the CSM's operators");
      throw new ConsoleError('ADMIN_ERR_CSM_REFUSED');
    }
    const errorBody = parsed as { code?: unknown; message?: unknown; retryable?: unknown } | undefined;
    if (errorBody && typeof errorBody.code === 'string' && typeof errorBody.message === 'string') {
      const retryAfter = response.headers.get('retry-after');
      throw new CsmAnswerError(
        response.status,
        { code: errorBody.code, message: errorBody.message, retryable: errorBody.retryable === true },
        retryAfter !== null && /^[0-9]{1,6}$/.test(retryAfter) ? retryAfter : null,
      );
    }
    if (response.status >= 500) throw new ConsoleError('ADMIN_ERR_CSM_UNAVAILABLE', `status ${response.status}`);
    throw new ConsoleError('ADMIN_ERR_CSM_BAD_RESPONSE', `status ${response.status}`);
  }
}
