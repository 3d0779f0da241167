/**
 * WebChannelStore for a single web server. Records are copied in and out, so a caller that keeps
 * changing its object cannot change what is stored, as with Redis.
 */
import { assertValid, storeClosed, type ChannelObservation, type WebChannelRecord, type WebChannelStore } from './WebChannelStore.js';

export class MemoryWebChannelStore implements WebChannelStore {
  readonly kind = 'memory';
  readonly #channels = new Map<number, WebChannelRecord>();
  #closed = false;

  async put(record: WebChannelRecord): Promise<void> {
    this.#assertOpen();
    assertValid.record(record);
    this.#channels.set(record.channelId, { ...record });
  }

  async get(channelId: number): Promise<WebChannelRecord | null> {
    this.#assertOpen();
    const record = this.#channels.get(channelId);
    return record ? { ...record } : null;
  }

  async list(): Promise<WebChannelRecord[]> {
    this.#assertOpen();
    return [...this.#channels.values()].sort((a, b) => a.channelId - b.channelId).map((record) => ({ ...record }));
  }

  async observe(channelId: number, observation: ChannelObservation): Promise<boolean> {
    this.#assertOpen();
    assertValid.channelId(channelId);
    assertValid.observation(observation);
    const record = this.#channels.get(channelId);
    if (!record || record.endedAt !== null) return false;
    record.viewers = observation.viewers;
    record.peakViewers = Math.max(record.peakViewers, observation.peakViewers, observation.viewers);
    record.publisherConnected = observation.publisherConnected;
    return true;
  }

  async end(channelId: number, at: number): Promise<boolean> {
    this.#assertOpen();
    assertValid.channelId(channelId);
    assertValid.time(at);
    const record = this.#channels.get(channelId);
    if (!record) return false;
    if (record.endedAt === null || at < record.endedAt) record.endedAt = at;
    return true;
  }

  async purgeEnded(before: number): Promise<number> {
    this.#assertOpen();
    assertValid.time(before);
    let removed = 0;
    for (const [id, record] of this.#channels) {
      if (record.endedAt !== null && record.endedAt < before) {
        this.#channels.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosed();
  }
}
