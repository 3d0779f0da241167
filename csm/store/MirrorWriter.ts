/**
 * Mirrors the cluster's changes to the ClusterStateMirror: changed units and channels are marked
 * dirty as they change and written in one fenced batch every few milliseconds, so a burst of joins
 * costs one store write, not one per viewer. A write refused for a stale epoch means another CSM has
 * taken over; the writer stops and reports it.
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
};

export class MirrorWriter extends TypedEmitter<MirrorWriterEvents> {
  readonly #dirtyUnits = new Set<string>();
  readonly #dirtyChannels = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  #fenced = false;
  #lastError: string | null = null;

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

  get pending(): number {
    return this.#dirtyUnits.size + this.#dirtyChannels.size;
  }

  unitChanged(id: string): void {
    this.#dirtyUnits.add(id);
    this.#schedule();
  }

  channelChanged(id: number): void {
    this.#dirtyChannels.add(id);
    this.#schedule();
  }

  /** Write everything pending now (also used on shutdown). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#fenced || this.pending === 0) return;
    const changes = this.#collect();
    this.#writing = this.#write(changes).finally(() => (this.#writing = null));
    await this.#writing;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#timer || this.#fenced) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.flushMs);
  }

  #collect(): ClusterChanges {
    const changes: Required<Pick<ClusterChanges, 'putUnits' | 'deleteUnits' | 'putChannels' | 'deleteChannels'>> & ClusterChanges = {
      putUnits: [],
      deleteUnits: [],
      putChannels: [],
      deleteChannels: [],
      nextChannelId: this.cluster.nextChannelId,
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
    this.#dirtyUnits.clear();
    this.#dirtyChannels.clear();
    return changes;
  }

  async #write(changes: ClusterChanges): Promise<void> {
    try {
      await this.mirror.write(this.epoch(), changes);
      this.#lastError = null;
      this.safeEmit('flushed', (changes.putUnits?.length ?? 0) + (changes.putChannels?.length ?? 0));
    } catch (error) {
      if (error instanceof StaleEpochError) {
        this.#fenced = true;
        this.stop();
        this.logger.error({ err: error }, 'store refused our epoch: another CSM is active');
        this.safeEmit('fenced', error);
        return;
      }
      // The store is away (e.g. Redis restarting): keep serving from memory, re-mark and retry later.
      this.#lastError = (error as Error).message;
      this.logger.warn({ err: error }, 'mirror write failed; will retry');
      for (const u of changes.putUnits ?? []) this.#dirtyUnits.add(u.id);
      for (const id of changes.deleteUnits ?? []) this.#dirtyUnits.add(id);
      for (const c of changes.putChannels ?? []) this.#dirtyChannels.add(c.id);
      for (const id of changes.deleteChannels ?? []) this.#dirtyChannels.add(id);
      if (!this.#timer) this.#timer = setTimeout(() => ((this.#timer = null), void this.flush()), Math.max(this.flushMs, 500));
    }
  }
}
