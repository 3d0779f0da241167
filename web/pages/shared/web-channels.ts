/**
 * The channels the pages read from `/api/v1` (protocol/web-api.ts WebChannel), checked field by
 * field so a page never renders `undefined`. The web server answers WebChannel; the CSM's service
 * API, which the dev site forwards to, names two of the fields differently (`id`, `createdAt`), so
 * both spellings are read.
 */
import type { WebChannel } from '../../../protocol/web-api.js';

export type { WebChannel };

/** A WebChannel from one entry of an answer, or null when it lacks what a page needs. */
export function readChannel(value: unknown): WebChannel | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const channelId = num(v['channelId']) ?? num(v['id']);
  if (channelId === null || !Number.isInteger(channelId) || channelId < 1) return null;
  const viewers = num(v['viewers']) ?? 0;
  return {
    channelId,
    title: str(v['title']) || `Channel ${channelId}`,
    broadcaster: str(v['broadcaster']) || 'someone',
    startedAt: num(v['startedAt']) ?? num(v['createdAt']) ?? Date.now(),
    viewers,
    peakViewers: num(v['peakViewers']) ?? viewers,
    publisherConnected: v['publisherConnected'] !== false,
  };
}

/** The channels of a `GET /api/v1/channels` answer; throws when the answer is not a list. */
export function readChannelList(body: unknown): WebChannel[] {
  const list = (body as { channels?: unknown } | null)?.channels;
  if (!Array.isArray(list)) throw new Error('the channel list answer has no channels');
  return list.map(readChannel).filter((c): c is WebChannel => c !== null);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}
