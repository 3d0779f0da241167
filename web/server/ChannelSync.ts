/**
 * The web server's periodic exchange with the CSM (the paper's web server ↔ CSM state exchange):
 * every channelSyncMs it reads the CSM's live channels and brings the channel store in line.
 *
 * - a channel the CSM lists and the store holds live: viewers and publisherConnected as the CSM says,
 *   the peak raised to the larger of both (written only when something changed);
 * - a channel the CSM lists that the store lacks (opened through another web server, or before this
 *   one started) is adopted with the CSM's title, broadcaster and createdAt; so is one the store holds
 *   as ended before the list was asked for: the CSM handed its id out again (a restart without Redis);
 * - a live channel the CSM no longer lists is ended, unless it was stored after the list was asked
 *   for (opened meanwhile) — and an end newer than the list is not undone by it;
 * - channels ended more than endedRetentionMs ago are removed (checked once a minute).
 *
 * A failed sync (CSM away, bad answer, store down) is logged and counted and changes nothing more; the
 * last good data stays and the next tick retries. Runs never overlap: the next is timed from the end
 * of the last.
 */
import type { Logger } from '../../protocol/logger.js';
import type { CsmChannelInfo } from './csm-channel-list.js';
import type { WebChannelRecord, WebChannelStore } from './store/WebChannelStore.js';

/** Ended channels are removed at most this often (or the retention, if shorter): a purge reads the whole store once more. */
const PURGE_EVERY_MS = 60_000;

export interface ChannelSyncDeps {
  store: WebChannelStore;
  listChannels: () => Promise<CsmChannelInfo[]>;
  intervalMs: number;
  endedRetentionMs: number;
  logger: Logger;
  /** counts failed runs (metrics) */
  failed?: () => void;
  now?: () => number;
}

export interface SyncOutcome {
  adopted: number;
  updated: number;
  ended: number;
  purged: number;
}

export type CsmReachability = 'reachable' | 'unreachable';

export class ChannelSync {
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #csm: CsmReachability = 'unreachable';
  #lastSyncAt: number | null = null;
  #failing = false;
  #purgedAt = 0;

  constructor(private readonly deps: ChannelSyncDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /** whether the CSM answered the last list request */
  get csm(): CsmReachability {
    return this.#csm;
  }

  /** ms since the epoch of the last sync that completed; null before the first */
  get lastSyncAt(): number | null {
    return this.#lastSyncAt;
  }

  /** Runs a sync now, then every intervalMs until stop(). Resolves after the first run (ok or not). */
  async start(): Promise<void> {
    await this.#tick();
  }

  /** One sync; failures are logged and counted here, never thrown. Null when it failed. */
  runOnce(): Promise<SyncOutcome | null> {
    const run = this.#run();
    this.#running = run;
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    await this.runOnce();
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.deps.intervalMs);
  }

  async #run(): Promise<SyncOutcome | null> {
    const requestedAt = this.#now();
    let infos: CsmChannelInfo[];
    try {
      infos = await this.deps.listChannels();
      this.#csm = 'reachable';
    } catch (error) {
      this.#csm = 'unreachable';
      this.#failed(error, 'the CSM did not answer the channel list');
      return null;
    }
    try {
      const outcome = await this.#apply(infos, requestedAt);
      this.#lastSyncAt = this.#now();
      if (this.#failing) this.deps.logger.info(outcome, 'channel sync works again');
      else if (outcome.adopted + outcome.ended + outcome.purged > 0) this.deps.logger.debug(outcome, 'channels synced');
      this.#failing = false;
      return outcome;
    } catch (error) {
      this.#failed(error, 'the channel store refused the sync');
      return null;
    }
  }

  #failed(error: unknown, what: string): void {
    this.deps.failed?.();
    // The first failure of a run of them is a warning; the rest would repeat it every tick.
    const log = this.#failing ? this.deps.logger.debug.bind(this.deps.logger) : this.deps.logger.warn.bind(this.deps.logger);
    log({ err: error instanceof Error ? { message: error.message, code: (error as { code?: unknown }).code } : String(error) }, `${what}; keeping the last good data`);
    this.#failing = true;
  }

  async #apply(infos: CsmChannelInfo[], requestedAt: number): Promise<SyncOutcome> {
    const { store } = this.deps;
    const outcome: SyncOutcome = { adopted: 0, updated: 0, ended: 0, purged: 0 };
    const stored = new Map<number, WebChannelRecord>();
    for (const record of await store.list()) stored.set(record.channelId, record);
    const listed = new Set<number>();

    for (const info of infos) {
      listed.add(info.id);
      const record = stored.get(info.id);
      if (!record || (record.endedAt !== null && record.endedAt < requestedAt)) {
        await store.put(adopt(info, this.#now()));
        outcome.adopted++;
      } else if (record.endedAt === null && changed(record, info)) {
        if (await store.observe(info.id, { viewers: info.viewers, peakViewers: info.peakViewers, publisherConnected: info.publisherConnected })) outcome.updated++;
      }
    }

    for (const record of stored.values()) {
      if (record.endedAt === null && !listed.has(record.channelId) && record.storedAt < requestedAt) {
        if (await store.end(record.channelId, this.#now())) outcome.ended++;
      }
    }
    if (this.#now() - this.#purgedAt >= Math.min(PURGE_EVERY_MS, this.deps.endedRetentionMs)) {
      outcome.purged = await store.purgeEnded(this.#now() - this.deps.endedRetentionMs);
      this.#purgedAt = this.#now();
    }
    return outcome;
  }
}

function adopt(info: CsmChannelInfo, now: number): WebChannelRecord {
  return {
    channelId: info.id,
    title: info.title,
    broadcaster: info.broadcaster,
    startedAt: info.createdAt,
    viewers: info.viewers,
    peakViewers: Math.max(info.peakViewers, info.viewers),
    publisherConnected: info.publisherConnected,
    endedAt: null,
    storedAt: now,
  };
}

function changed(record: WebChannelRecord, info: CsmChannelInfo): boolean {
  return record.viewers !== info.viewers || record.peakViewers < info.peakViewers || record.publisherConnected !== info.publisherConnected;
}
