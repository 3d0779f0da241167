/**
 * Chat lines per sender: a token bucket per sender id (viewer id, or the channel's publisher), so a
 * burst of a few lines passes and a flood is cut to a steady rate. Over the rate a line is dropped
 * and the sender told; the connection stays (typing fast is no reason to lose the stream).
 */
export interface ChatRate {
  /** lines a sender may send at once */
  burst: number;
  /** lines per second refilled */
  perSecond: number;
}

export const DEFAULT_CHAT_RATE: ChatRate = { burst: 5, perSecond: 1 };

interface Bucket {
  tokens: number;
  at: number;
}

export class ChatLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: ChatRate = DEFAULT_CHAT_RATE,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `sender` may send a line now (and takes its token). */
  take(sender: string): boolean {
    const now = this.now();
    const bucket = this.#buckets.get(sender) ?? { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate.perSecond);
    bucket.at = now;
    this.#buckets.set(sender, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** The sender left: its bucket goes (a rejoin starts full, which a reconnect loop cannot abuse much). */
  forget(sender: string): void {
    this.#buckets.delete(sender);
  }
}
