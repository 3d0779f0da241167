/**
 * What the lab client prints: one JSON object per line on stdout, each with `t` (its type) and `at`
 * (Date.now() of this machine: the lab's namespaces share the host's clock, so the test process can
 * compare these times with its own). Diagnostics go to stderr.
 */
export type Line = { t: string; at?: number } & Record<string, unknown>;

export function emit(line: Line): void {
  process.stdout.write(`${JSON.stringify({ at: Date.now(), ...line })}\n`);
}

export function note(message: string): void {
  process.stderr.write(`[lab-client ${process.pid}] ${message}\n`);
}

/** A bounded list: keeps the newest `capacity` items (and counts what it dropped). */
export class Bounded<T> {
  readonly items: T[] = [];
  dropped = 0;
  constructor(readonly capacity: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.dropped += this.items.splice(0, this.items.length - this.capacity).length;
  }
}
