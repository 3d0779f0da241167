import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChannelStore } from '../../protocol/store/MemoryChannelStore.js';
import type { ChannelMeta } from '../../protocol/store/ChannelStore.js';
import { harness } from './harness.js';

describe('CSM HTTP: a metadata store outage', () => {
  it('still opens and ends channels: the CSM memory is authoritative', async () => {
    class DownStore extends MemoryChannelStore {
      override async put(_meta: ChannelMeta): Promise<void> {
        throw new Error('connection refused');
      }
      override async delete(_id: number): Promise<boolean> {
        throw new Error('connection refused');
      }
    }
    const { app } = await harness({ channelStore: new DownStore() });
    const opened = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: { title: 't', broadcaster: 'b' } });
    assert.equal(opened.statusCode, 201);
    const { channelId, publisherKey } = opened.json() as { channelId: number; publisherKey: string };
    assert.equal((await app.inject({ url: `/api/v1/channels/${channelId}` })).statusCode, 200);
    const ended = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/end`, payload: { publisherKey } });
    assert.equal(ended.statusCode, 204);
    assert.equal((await app.inject({ url: `/api/v1/channels/${channelId}` })).statusCode, 404);
    await app.close();
  });
});
