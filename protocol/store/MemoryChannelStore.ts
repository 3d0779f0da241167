/**
 * ChannelStore for the embedded (single-process) default. Values are copied in and out so a caller
 * that keeps mutating its object cannot change what is stored behind the store's back, which is
 * what the Redis implementation gives for free.
 */
import { CodedError } from '../control-errors.js';
import { assertViewerCount, type ChannelMeta, type ChannelStore } from './ChannelStore.js';

export class MemoryChannelStore implements ChannelStore {
  private readonly channels = new Map<number, ChannelMeta>();
  private closed = false;

  async put(meta: ChannelMeta): Promise<void> {
    this.assertOpen();
    this.channels.set(meta.id, { ...meta });
  }

  async get(id: number): Promise<ChannelMeta | null> {
    this.assertOpen();
    const meta = this.channels.get(id);
    return meta ? { ...meta } : null;
  }

  async list(): Promise<ChannelMeta[]> {
    this.assertOpen();
    return [...this.channels.values()].sort((a, b) => a.id - b.id).map((meta) => ({ ...meta }));
  }

  async setViewers(id: number, viewers: number): Promise<boolean> {
    this.assertOpen();
    assertViewerCount(viewers);
    const meta = this.channels.get(id);
    if (!meta) return false;
    meta.viewers = viewers;
    if (viewers > meta.peakViewers) meta.peakViewers = viewers;
    return true;
  }

  async delete(id: number): Promise<boolean> {
    this.assertOpen();
    return this.channels.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the channel store is closed');
  }
}
