/**
 * The live feed behind `GET /console/v1/live`: polls the CSM's admin API every `intervalMs` (the
 * cluster summary, units, every group, channels, the newest events — five GETs, whatever the number
 * of units), keeps the last state and the chart history, and pushes to every connected page as
 * server-sent events. Each message is encoded once and the same string written to every client.
 *
 * Events on the stream:
 * - `snapshot` (first, on connect): `{ state, events, history }` — the whole picture;
 * - `state`: `{ at, csm, summary, units, channels }` whenever it differs from the last one sent;
 * - `events`: `{ events }` log entries not seen before, newest first;
 * - `sample`: `{ cluster, units }` the history points of this poll (5 s steps; the newest wins).
 * A poll that fails keeps the last state with `csm: "unreachable"` and the error's code.
 *
 * Polls never overlap: the next is scheduled when one ends. Bounded: at most `maxClients` feeds; a
 * page that does not read (its socket buffer past 1 MiB) is dropped rather than buffered for.
 */
import type { GroupView, LiveState, UnitView } from '../protocol/admin-api.js';
import type { Logger } from '../protocol/logger.js';
import type { LogEvent } from '../protocol/store/EventLog.js';

export type { GroupView, LiveState, LogEvent, UnitView };
import type { CsmAdmin } from './CsmAdmin.js';
import { History, type HistoryDump } from './History.js';



export interface LiveClient {
  /** writes one SSE message; false when the client cannot take more (it is then dropped) */
  write(text: string): boolean;
  close(): void;
}

const EVENTS_PER_POLL = 50;
const RECENT_EVENTS = 200;

export const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export class LiveFeed {
  readonly history: History;
  readonly #clients = new Set<LiveClient>();
  #state: LiveState = { at: 0, csm: 'unreachable', error: null, summary: null, units: [], channels: [] };
  #stateText = '';
  #recent: LogEvent[] = [];
  #seen = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #polled: (() => void)[] = [];

  constructor(
    private readonly csm: CsmAdmin,
    private readonly options: { intervalMs: number; historyMs: number; historyStepMs: number; maxClients: number; logger: Logger; now?: () => number },
  ) {
    this.history = new History(options.historyMs, options.historyStepMs);
  }

  get clients(): number {
    return this.#clients.size;
  }

  get state(): LiveState {
    return this.#state;
  }

  /** Polls once now, then every intervalMs. */
  async start(): Promise<void> {
    await this.pollOnce();
    this.#schedule();
  }

  /** Resolves after the next poll completes (tests, and after an action so the page sees it soon). */
  nextPoll(): Promise<void> {
    return new Promise((resolve) => this.#polled.push(resolve));
  }

  /** Polls now (after an action), unless a poll is already running. */
  pokeSoon(): void {
    if (this.#stopped || this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.pollOnce().then(() => this.#schedule());
  }

  canAdd(): boolean {
    return this.#clients.size < this.options.maxClients;
  }

  /** Adds a page's stream and sends it the snapshot. */
  add(client: LiveClient): void {
    if (this.#stopped) return client.close();
    this.#clients.add(client);
    client.write(sse('snapshot', { state: this.#state, events: this.#recent, history: this.history.dump() satisfies HistoryDump }));
  }

  remove(client: LiveClient): void {
    this.#clients.delete(client);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    for (const client of this.#clients) client.close();
    this.#clients.clear();
  }

  pollOnce(): Promise<void> {
    this.#running ??= this.#poll().finally(() => {
      this.#running = null;
      for (const resolve of this.#polled.splice(0)) resolve();
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.pollOnce().then(() => this.#schedule());
    }, this.options.intervalMs);
  }

  async #poll(): Promise<void> {
    const at = (this.options.now ?? Date.now)();
    try {
      const [summary, units, groups, channels, events] = await Promise.all([
        this.csm.get<Record<string, unknown>>('/cluster'),
        this.csm.get<UnitView[]>('/units'),
        this.csm.get<GroupView[]>('/groups'),
        this.csm.get<Record<string, unknown>[]>('/channels'),
        this.csm.get<{ events: LogEvent[] }>(`/events?limit=${EVENTS_PER_POLL}`),
      ]);
      const grids = new Map<string, (GroupView | null)[]>();
      for (const unit of units) grids.set(unit.id, new Array<GroupView | null>(unit.groupsPerUnit).fill(null));
      for (const group of groups) {
        const grid = grids.get(group.unitId);
        if (grid && group.index < grid.length) grid[group.index] = group;
      }
      this.#setState({ at, csm: 'reachable', error: null, summary, units: units.map((u) => ({ ...u, groups: grids.get(u.id) ?? [] })), channels });
      this.#takeEvents(events.events);
      const points = this.history.record(at, units.map((u) => ({ id: u.id, viewers: u.viewers, egressBps: u.load.egressBps })));
      this.#broadcast(sse('sample', points));
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ADMIN_ERR_INTERNAL';
      if (this.#state.csm === 'reachable' || this.#state.at === 0) this.options.logger.warn({ code, err: error }, 'live feed: the CSM poll failed');
      this.#setState({ ...this.#state, at, csm: 'unreachable', error: code });
      // No sample this poll: a comment line keeps proxies from timing the stream out.
      this.#broadcast(': csm unreachable\n\n');
    }
  }

  #setState(state: LiveState): void {
    this.#state = state;
    // "at" changes every poll: compare the rest, so an idle cluster sends nothing.
    const text = JSON.stringify({ ...state, at: 0 });
    if (text === this.#stateText) return;
    this.#stateText = text;
    this.#broadcast(sse('state', state));
  }

  #takeEvents(newestFirst: LogEvent[]): void {
    const fresh = newestFirst.filter((e) => !this.#seen.has(e.id));
    this.#seen = new Set(newestFirst.map((e) => e.id));
    if (fresh.length === 0) return;
    this.#recent = [...fresh, ...this.#recent].slice(0, RECENT_EVENTS);
    this.#broadcast(sse('events', { events: fresh }));
  }

  #broadcast(text: string): void {
    for (const client of this.#clients) {
      if (!client.write(text)) {
        this.#clients.delete(client);
        client.close();
      }
    }
  }
}
