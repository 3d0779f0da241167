/**
 * Mirrors the cluster's changes to the ClusterStateMirror: changed units and channels are marked
 * dirty as they change and written in one fenced batch every few milliseconds, so a burst of joins
 * costs one store write, not one per viewer. A write refused for a stale epoch means another CSM has
 * taken over; the writer stops and reports it ('fenced').
 *
 * A write that fails for any other reason (the store is away, e.g. Redis restarting) is counted and
 * retried, and the next write that goes through is the whole state (`replaceAll`): the store may
 * have come back empty, and a few re-marked records would leave it holding half a cluster. The CSM
 * also asks for a full write (`resyncAll`) when it sees the store's epoch behind its own, which is
 * how a store that lost its data without a failed write shows itself.
 *
 * Only an active CSM writes: `pause` (a demotion) and `fence` (a newer epoch exists) stop the
 * writer and drop what is pending; `resume` (a promotion) starts it again.
 */
import type { Logger } from '../../protocol/logger.js';
import { TypedEmitter } from '../../protocol/typed-emitter.js';
import type { Cluster } from '../cluster/Cluster.js';
import { channelRecord, unitRecord } from '../cluster/views.js';
import { StaleEpochError, type ClusterStateMirror } from './ClusterStateMirror.js';
import type { ClusterChanges } from './records.js';

export type MirrorWriterEvents = {
  fenced: [error: StaleEpochError];
  flushed: [changes: number];
  /** a write failed (not a stale epoch); it will be retried as a full write */
  failed: [error: Error];
  /** a full write (replaceAll) went through */
  resynced: [units: number, channels: number];
};

/** how long to wait before retrying a failed write, at least */
const RETRY_MS = 500;

export class MirrorWriter extends TypedEmitter<MirrorWriterEvents> {
  readonly #dirtyUnits = new Set<string>();
  readonly #dirtyChannels = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  #fenced = false;
  #paused = false;
  #full = false;
  #lastError: string | null = null;
  #failures = 0;

  constructor(
    readonly mirror: ClusterStateMirror,
    readonly cluster: Cluster,
    readonly epoch: () => number,
    readonly flushMs: number,
    readonly logger: Logger,
  ) {
    super();
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  /** Last store error, null once a write succeeded again. Health reports it; it does not fail health. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /** Writes that failed (not counting stale-epoch refusals) since the process started. */
  get failures(): number {
    return this.#failures;
  }

  get pending(): number {
    return this.#dirtyUnits.size + this.#dirtyChannels.size + (this.#full ? 1 : 0);
  }

  unitChanged(id: string): void {
    if (this.#fenced || this.#paused) return;
    this.#dirtyUnits.add(id);
    this.#schedule();
  }

  channelChanged(id: number): void {
    if (this.#fenced || this.#paused) return;
    this.#dirtyChannels.add(id);
    this.#schedule();
  }

  /** Write the whole state with the next flush (the store lost its data, or came back after an outage). */
  resyncAll(): void {
    if (this.#fenced || this.#paused) return;
    this.#full = true;
    this.#schedule();
  }

  /** Write everything pending now (also used on shutdown and on a planned demotion). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#fenced || this.pending === 0) return;
    const changes = this.#collect();
    this.#writing = this.#write(changes).finally(() => (this.#writing = null));
    await this.#writing;
  }

  /** Stop the timer; what is pending stays (close() flushes it). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A demotion: stop writing and forget what is pending (the next active owns the store now). */
  pause(): void {
    this.#paused = true;
    this.stop();
    this.#clear();
  }

  /** A newer epoch exists: nothing this CSM writes will be accepted again until it is promoted. */
  fence(): void {
    this.#fenced = true;
    this.stop();
    this.#clear();
  }

  /** A promotion: write again, with the new epoch; `full` writes the whole state first. */
  resume(full: boolean): void {
    this.#fenced = false;
    this.#paused = false;
    this.#lastError = null;
    this.#clear();
    if (full) this.resyncAll();
  }

  #clear(): void {
    this.#dirtyUnits.clear();
    this.#dirtyChannels.clear();
    this.#full = false;
  }

  #schedule(): void {
    if (this.#timer || this.#fenced || this.#paused) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.flushMs);
  }

  #collect(): ClusterChanges {
    const nextChannelId = this.cluster.nextChannelId;
    if (this.#full) {
      this.#clear();
      return {
        replaceAll: true,
        putUnits: [...this.cluster.units.values()].map(unitRecord),
        putChannels: [...this.cluster.channels.values()].map(channelRecord),
        nextChannelId,
      };
    }
    const changes: Required<Pick<ClusterChanges, 'putUnits' | 'deleteUnits' | 'putChannels' | 'deleteChannels'>> & ClusterChanges = {
      putUnits: [],
      deleteUnits: [],
      putChannels: [],
      deleteChannels: [],
      nextChannelId,
    };
    for (const id of this.#dirtyUnits) {
      const unit = this.cluster.units.get(id);
      if (unit) changes.putUnits.push(unitRecord(unit));
      else changes.deleteUnits.push(id);
    }
    for (const id of this.#dirtyChannels) {
      const channel = this.cluster.channels.get(id);
      if (channel) changes.putChannels.push(channelRecord(channel));
      else changes.deleteChannels.push(id);
    }
    this.#clear();
    return changes;
  }

  async #write(changes: ClusterChanges): Promise<void> {
    try {
      await this.mirror.write(this.epoch(), changes);
      if (this.#lastError !== null) this.logger.info('mirror writes go through again');
      this.#lastError = null;
      const units = changes.putUnits?.length ?? 0;
      const channels = changes.putChannels?.length ?? 0;
      if (changes.replaceAll) {
        this.logger.info({ units, channels }, 'wrote the whole state to the store');
        this.safeEmit('resynced', units, channels);
      }
      this.safeEmit('flushed', units + channels);
    } catch (error) {
      if (error instanceof StaleEpochError) {
        this.fence();
        this.logger.error({ err: error }, 'store refused our epoch: another CSM is active');
        this.safeEmit('fenced', error);
        return;
      }
      if (this.#fenced || this.#paused) return;
      // The store is away (e.g. Redis restarting): keep serving from memory, and once it answers
      // again write the whole state, since it may have come back empty.
      this.#failures++;
      if (this.#lastError === null) this.logger.warn({ err: error }, 'mirror write failed; serving from memory, will write the whole state once the store is back');
      else this.logger.debug({ err: error }, 'mirror write failed again');
      this.#lastError = (error as Error).message;
      this.#full = true;
      this.safeEmit('failed', error as Error);
      if (!this.#timer) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          void this.flush();
        }, Math.max(this.flushMs, RETRY_MS));
      }
    }
  }
}
