/**
 * A token bucket per key, so a burst of a few actions passes and a flood is cut to a steady rate:
 * chat lines per sender (over the rate a line is dropped; typing fast is no reason to lose the
 * stream), and a viewer's UDP session starts (each costs a peer connection and a DTLS handshake).
 */
export interface Rate {
  /** lines a sender may send at once */
  burst: number;
  /** lines per second refilled */
  perSecond: number;
}

export const DEFAULT_CHAT_RATE: Rate = { burst: 5, perSecond: 1 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    readonly rate: Rate,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `key` may act now (and takes its token). */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** The key's owner left: its bucket goes (a rejoin starts full, which a reconnect loop cannot abuse much). */
  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
