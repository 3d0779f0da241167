/**
 * Chart history: viewers and egress, cluster-wide and per unit, one point per `stepMs` for
 * `spanMs` (an hour at 5 s: 720 points). Each series is a fixed-size ring, so memory is bounded by
 * (units + 1) × points; a unit that has not been seen for a whole span is forgotten. Within a step
 * the newest sample wins.
 */
import type { HistoryDump, HistoryPoint } from '../protocol/admin-api.js';

export type { HistoryDump, HistoryPoint };



class Series {
  readonly #points: (HistoryPoint | undefined)[];
  #next = 0;
  lastAt = 0;

  constructor(size: number) {
    this.#points = new Array<HistoryPoint | undefined>(size);
  }

  add(point: HistoryPoint): void {
    const size = this.#points.length;
    const previous = this.#points[(this.#next - 1 + size) % size];
    if (previous && previous.at === point.at) this.#points[(this.#next - 1 + size) % size] = point;
    else {
      this.#points[this.#next] = point;
      this.#next = (this.#next + 1) % size;
    }
    this.lastAt = point.at;
  }

  list(): HistoryPoint[] {
    const size = this.#points.length;
    const out: HistoryPoint[] = [];
    for (let i = 0; i < size; i++) {
      const point = this.#points[(this.#next + i) % size];
      if (point) out.push(point);
    }
    return out;
  }
}

export class History {
  readonly #size: number;
  readonly #cluster: Series;
  readonly #units = new Map<string, Series>();

  constructor(
    readonly spanMs: number,
    readonly stepMs: number,
  ) {
    this.#size = Math.max(1, Math.ceil(spanMs / stepMs));
    this.#cluster = new Series(this.#size);
  }

  /** One poll's figures: per unit, and the cluster's as their sum. Returns the step's points. */
  record(at: number, units: readonly { id: string; viewers: number; egressBps: number }[]): { cluster: HistoryPoint; units: Record<string, HistoryPoint> } {
    const step = at - (at % this.stepMs);
    const byUnit: Record<string, HistoryPoint> = {};
    let viewers = 0;
    let egressBps = 0;
    for (const unit of units) {
      const point = { at: step, viewers: unit.viewers, egressBps: unit.egressBps };
      let series = this.#units.get(unit.id);
      if (!series) this.#units.set(unit.id, (series = new Series(this.#size)));
      series.add(point);
      byUnit[unit.id] = point;
      viewers += unit.viewers;
      egressBps += unit.egressBps;
    }
    const cluster = { at: step, viewers, egressBps };
    this.#cluster.add(cluster);
    for (const [id, series] of this.#units) if (step - series.lastAt > this.spanMs) this.#units.delete(id);
    return { cluster, units: byUnit };
  }

  dump(): HistoryDump {
    const units: Record<string, HistoryPoint[]> = {};
    for (const [id, series] of this.#units) units[id] = series.list();
    return { stepMs: this.stepMs, cluster: this.#cluster.list(), units };
  }
}
