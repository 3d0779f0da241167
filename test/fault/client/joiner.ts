/**
 * Continuous joins through the VIP: every `everyMs` a new join of the channel starts (a logical join),
 * and each one is tried until it succeeds — `POST /api/v1/channels/:id/join` with web/client's CsmApi,
 * its own retries off, so every attempt and its answer is seen here. A retryable answer (a network
 * error or timeout, `503` or `429` marked retryable) is tried again after `retryMs`; any other answer
 * ends the join as refused. One `join` line per logical join when it ends.
 *
 * A join admitted here reserves a slot that no viewer ever takes: the CSM releases it after
 * `reservationTtlMs` (its default, 65 s, outlives these tests).
 */
import { CsmApi } from '../../../web/client/CsmApi.js';
import { CsmApiError } from '../../../web/client/errors.js';
import { Bounded, emit } from './output.js';

export interface JoinRecord {
  channelId: number;
  n: number;
  startedAt: number;
  /** when the successful answer arrived, and when that attempt was sent */
  okAt: number | null;
  okSentAt: number | null;
  attempts: number;
  /** answers that were not a success: "503 CSM_ERR_NOT_ACTIVE", "network", … → count */
  answers: Record<string, number>;
  /** set when the join ended without success: the answer that ended it */
  refused: string | null;
  /** still being tried */
  pending: boolean;
}

export interface JoinerOptions {
  baseUrl: string;
  channelId: number;
  everyMs: number;
  retryMs: number;
  attemptTimeoutMs: number;
  /** a logical join that has not succeeded after this long is given up (and counted as refused) */
  giveUpMs: number;
  maxInFlight: number;
}

export class Joiner {
  readonly #api: CsmApi;
  readonly #done = new Bounded<JoinRecord>(50_000);
  readonly #pending = new Set<JoinRecord>();
  #n = 0;
  #inFlight = 0;
  #skipped = 0;
  #running = true;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly options: JoinerOptions) {
    this.#api = new CsmApi({ baseUrl: options.baseUrl, retries: 0, timeoutMs: options.attemptTimeoutMs });
    this.#timer = setInterval(() => this.#tick(), options.everyMs);
  }

  /** pause or resume starting new joins (joins in flight go on) */
  set running(on: boolean) {
    this.#running = on;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #tick(): void {
    if (!this.#running) return;
    if (this.#inFlight >= this.options.maxInFlight) {
      this.#skipped++;
      return;
    }
    void this.#join(++this.#n);
  }

  async #join(n: number): Promise<void> {
    this.#inFlight++;
    const record: JoinRecord = { channelId: this.options.channelId, n, startedAt: Date.now(), okAt: null, okSentAt: null, attempts: 0, answers: {}, refused: null, pending: true };
    this.#pending.add(record);
    try {
      for (;;) {
        record.attempts++;
        const sentAt = Date.now();
        try {
          await this.#api.join(this.options.channelId);
          record.okAt = Date.now();
          record.okSentAt = sentAt;
          return;
        } catch (error) {
          const answer = describe(error);
          record.answers[answer] = (record.answers[answer] ?? 0) + 1;
          if (!isRetryable(error)) {
            record.refused = answer;
            return;
          }
          if (Date.now() - record.startedAt > this.options.giveUpMs) {
            record.refused = `gave up after ${record.attempts} attempts (last: ${answer})`;
            return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
      }
    } finally {
      this.#inFlight--;
      record.pending = false;
      this.#pending.delete(record);
      this.#done.push(record);
      emit({ t: 'join', ...record });
    }
  }

  /** Joins that started in [from, to], those still being tried included (`pending`), in start order. */
  window(from: number, to = Date.now()): JoinRecord[] {
    const inRange = (r: JoinRecord): boolean => r.startedAt >= from && r.startedAt <= to;
    return [...this.#done.items.filter(inRange), ...[...this.#pending].filter(inRange).map((r) => ({ ...r, answers: { ...r.answers } }))].sort((x, y) => x.n - y.n);
  }

  get stats(): { started: number; done: number; ok: number; refused: number; retried: number; inFlight: number; skipped: number } {
    const done = this.#done.items;
    return {
      started: this.#n,
      done: done.length,
      ok: done.filter((r) => r.okAt !== null).length,
      refused: done.filter((r) => r.refused !== null).length,
      retried: done.filter((r) => r.attempts > 1).length,
      inFlight: this.#inFlight,
      skipped: this.#skipped,
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#running = false;
    this.#api.close();
  }
}

function describe(error: unknown): string {
  if (error instanceof CsmApiError) {
    if (error.status !== 0) return `${error.status} ${error.code}`;
    return error.code === 'WEB_ERR_CLIENT_NETWORK' ? 'network' : error.code;
  }
  return `error ${String(error)}`;
}

/** What a client may retry: no answer at all, or an answer the CSM marks retryable (503, 429). */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof CsmApiError)) return false;
  if (error.status === 0) return error.retryable;
  return (error.status === 503 || error.status === 429) && error.retryable;
}
