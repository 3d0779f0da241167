/**
 * HTTP probes from the client host:
 *
 * - VipProbe: GET http://<VIP>:7000/healthz every `everyMs`, each probe on its own (a probe that hangs
 *   on a dead holder does not delay the next), bounded by a timeout. Prints a `vip` line whenever what
 *   the VIP answers changes (status, csmId, role, epoch), in the order the probes were sent.
 * - HealthSampler: every `everyMs` one sample of both CSM hosts' /healthz through their own addresses,
 *   both asked at the same moment. Prints a `health` line when a host's answer changes, and a
 *   `twoActive` line for every sample in which both answered role=active.
 */
import { Bounded, emit } from './output.js';

export interface HealthAnswer {
  status: number;
  csmId: string | null;
  role: string | null;
  epoch: number | null;
  fenced: boolean | null;
}

export async function getHealth(url: string, timeoutMs: number): Promise<HealthAnswer> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => null)) as { detail?: { csmId?: string; role?: string; epoch?: number; fenced?: boolean } } | null;
    const d = body?.detail;
    return { status: response.status, csmId: d?.csmId ?? null, role: d?.role ?? null, epoch: d?.epoch ?? null, fenced: d?.fenced ?? null };
  } catch {
    return { status: 0, csmId: null, role: null, epoch: null, fenced: null };
  }
}

const key = (h: HealthAnswer): string => `${h.status}/${h.csmId}/${h.role}/${h.epoch}`;

export interface VipAnswer extends HealthAnswer {
  sentAt: number;
  at: number;
}

export class VipProbe {
  readonly #timer: NodeJS.Timeout;
  #inFlight = 0;
  #lastSentAt = 0;
  #lastKey = '';
  #probes = 0;
  /** every change, in send order */
  readonly changes = new Bounded<VipAnswer>(20_000);

  constructor(
    readonly url: string,
    readonly everyMs: number,
    readonly timeoutMs: number,
    readonly maxInFlight = 40,
  ) {
    this.#timer = setInterval(() => void this.#probe(), everyMs);
  }

  async #probe(): Promise<void> {
    if (this.#inFlight >= this.maxInFlight) return;
    this.#inFlight++;
    this.#probes++;
    const sentAt = Date.now();
    try {
      const answer = await getHealth(this.url, this.timeoutMs);
      // an older probe that answers late says nothing new
      if (sentAt < this.#lastSentAt) return;
      this.#lastSentAt = sentAt;
      const k = key(answer);
      if (k === this.#lastKey) return;
      this.#lastKey = k;
      const change = { ...answer, sentAt, at: Date.now() };
      this.changes.push(change);
      emit({ t: 'vip', ...change });
    } finally {
      this.#inFlight--;
    }
  }

  get probes(): number {
    return this.#probes;
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

export interface HealthSample {
  at: number;
  answers: Record<string, HealthAnswer>;
}

export class HealthSampler {
  readonly #timer: NodeJS.Timeout;
  readonly #last = new Map<string, string>();
  #samples = 0;
  #inFlight = 0;
  readonly twoActive = new Bounded<HealthSample>(10_000);
  readonly changes = new Bounded<{ host: string; sentAt: number } & HealthAnswer>(20_000);

  constructor(
    /** host name → its /healthz URL */
    readonly hosts: Record<string, string>,
    readonly everyMs: number,
    readonly timeoutMs: number,
  ) {
    this.#timer = setInterval(() => void this.#sample(), everyMs);
  }

  async #sample(): Promise<void> {
    if (this.#inFlight >= 20) return;
    this.#inFlight++;
    const sentAt = Date.now();
    try {
      const entries = await Promise.all(Object.entries(this.hosts).map(async ([host, url]) => [host, await getHealth(url, this.timeoutMs)] as const));
      this.#samples++;
      const answers = Object.fromEntries(entries);
      for (const [host, answer] of entries) {
        const k = key(answer);
        if (this.#last.get(host) === k) continue;
        this.#last.set(host, k);
        this.changes.push({ host, sentAt, ...answer });
        emit({ t: 'health', host, sentAt, ...answer });
      }
      if (entries.filter(([, a]) => a.status === 200 && a.role === 'active').length > 1) {
        const sample = { at: sentAt, answers };
        this.twoActive.push(sample);
        emit({ t: 'twoActive', sentAt, answers });
      }
    } finally {
      this.#inFlight--;
    }
  }

  /** samples taken, and the samples with two actives since `from` */
  window(from: number, to = Date.now()): { samples: number; twoActive: HealthSample[]; changes: ({ host: string; sentAt: number } & HealthAnswer)[] } {
    return {
      samples: this.#samples,
      twoActive: this.twoActive.items.filter((s) => s.at >= from && s.at <= to),
      changes: this.changes.items.filter((c) => c.sentAt >= from && c.sentAt <= to),
    };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
