/**
 * Every call the web server makes to the CSM's service API, and what its failures become for the
 * browser. Calls go through web/client's CsmApi (one HTTP client for the service API, not two), made
 * per call with:
 * - no retries: the browser's own CsmApi retries 503s and 429s, so retrying here too would multiply
 *   the CSM's load and keep the browser waiting with nothing to show;
 * - a fetch that notes the answer's Retry-After, which CsmApiError does not keep, so it passes through.
 *
 * Outcomes: the CSM's value; the CSM's own error answer (CsmAnswerError: status, body and Retry-After
 * as the CSM gave them); WEB_ERR_CSM_UNAVAILABLE when it could not be reached, timed out, or a proxy
 * in front of it answered 5xx without an error body; WEB_ERR_CSM_BAD_RESPONSE for an answer that is
 * not the API's; WEB_ERR_CSM_REFUSED when the CSM refused the service token (a misconfiguration of
 * the web server that no browser can fix, so its 401 is not passed on).
 */
import type { Logger } from '../../protocol/logger.js';
import { CsmApi } from '../client/CsmApi.js';
import { CsmApiError } from '../client/errors.js';
import { checkCsmChannels, type CsmChannelInfo } from './csm-channel-list.js';
import { CsmAnswerError, WebError } from './errors.js';

export interface CsmLinkOptions {
  baseUrl: string;
  /** empty or absent: no Authorization header */
  token?: string | undefined;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export class CsmLink {
  readonly #fetch: typeof fetch;

  constructor(
    readonly options: CsmLinkOptions,
    private readonly logger: Logger,
  ) {
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  /** Runs one service API call; failures are thrown as described above. */
  async call<T>(run: (api: CsmApi) => Promise<T>): Promise<T> {
    let retryAfter: string | null = null;
    const api = new CsmApi({
      baseUrl: this.options.baseUrl,
      token: this.options.token || undefined,
      retries: 0,
      timeoutMs: this.options.timeoutMs,
      fetch: async (input, init) => {
        const response = await this.#fetch(input, init);
        retryAfter = response.headers.get('retry-after');
        return response;
      },
    });
    try {
      return await run(api);
    } catch (error) {
      throw this.#translate(error, retryAfter);
    } finally {
      api.close();
    }
  }

  /** The CSM's live channels (ChannelSync). */
  listChannels(): Promise<CsmChannelInfo[]> {
    return this.call(async (api) => checkCsmChannels(await api.listChannels()));
  }

  #translate(error: unknown, retryAfter: string | null): Error {
    if (!(error instanceof CsmApiError)) return error instanceof Error ? error : new Error(String(error));
    if (error.code === 'WEB_ERR_CLIENT_NETWORK' || (error.code === 'WEB_ERR_CLIENT_BAD_RESPONSE' && error.status >= 500)) {
      return new WebError('WEB_ERR_CSM_UNAVAILABLE', undefined, { cause: error });
    }
    if (error.code === 'WEB_ERR_CLIENT_BAD_RESPONSE') return new WebError('WEB_ERR_CSM_BAD_RESPONSE', undefined, { cause: error });
    if (error.status === 401) {
      this.logger.error({ code: error.code }, 'the CSM refused the service token: check csmServiceToken against the CSM\'s serviceToken');
      return new WebError('WEB_ERR_CSM_REFUSED', undefined, { cause: error });
    }
    return new CsmAnswerError(error.status, { code: error.code, message: error.message, retryable: error.retryable }, validRetryAfter(retryAfter));
  }
}

/** Only whole seconds pass on: anything else from upstream is not repeated to browsers. */
function validRetryAfter(value: string | null): string | null {
  return value !== null && /^[0-9]{1,6}$/.test(value) ? value : null;
}
