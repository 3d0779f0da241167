/**
 * Open media connections per client IP (DESIGN "Security": limits on connections per IP). A slot is
 * acquired when the upgrade request arrives — before the ticket is verified, so a flood of requests
 * with bad tickets is bounded too — and released when the socket closes or the request is aborted.
 */
export class ConnectionLimiter {
  readonly #counts = new Map<string, number>();

  constructor(readonly maxPerIp: number) {}

  /** False when `ip` already holds `maxPerIp` slots. */
  acquire(ip: string): boolean {
    const n = this.#counts.get(ip) ?? 0;
    if (n >= this.maxPerIp) return false;
    this.#counts.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = this.#counts.get(ip) ?? 0;
    if (n <= 1) this.#counts.delete(ip);
    else this.#counts.set(ip, n - 1);
  }

  count(ip: string): number {
    return this.#counts.get(ip) ?? 0;
  }
}
