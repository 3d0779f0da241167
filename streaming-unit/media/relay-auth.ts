/**
 * Who may open a relay link to this unit: another unit of the cluster. Units share the cluster
 * secret (the CSM control link's credential) but not the CSM's ticket key, so a relay request carries
 * an HMAC of (unit id, channel, time) under that secret, fresh within a window. node:crypto's HMAC
 * and timingSafeEqual: nothing here needs a library beyond it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** a relay signature older (or newer) than this is refused: clocks of one cluster agree well within it */
export const RELAY_AUTH_WINDOW_MS = 60_000;

export interface RelayCredentials {
  unitId: string;
  timestampMs: number;
  signature: string;
}

function sign(secret: string, unitId: string, channelId: number, timestampMs: number): string {
  return createHmac('sha256', secret).update(`onair-relay|${unitId}|${channelId}|${timestampMs}`).digest('base64url');
}

/** The query string (without `?`) a unit appends to `/relay/:channelId`. */
export function relayQuery(secret: string, unitId: string, channelId: number, nowMs = Date.now()): string {
  const params = new URLSearchParams({ u: unitId, ts: String(nowMs), sig: sign(secret, unitId, channelId, nowMs) });
  return params.toString();
}

/** The child unit's id when the credentials are valid for this channel now; null otherwise. */
export function verifyRelay(secret: string, channelId: number, credentials: RelayCredentials, nowMs = Date.now()): string | null {
  const { unitId, timestampMs, signature } = credentials;
  if (!unitId || unitId.length > 128 || !Number.isSafeInteger(timestampMs)) return null;
  if (Math.abs(nowMs - timestampMs) > RELAY_AUTH_WINDOW_MS) return null;
  const expected = Buffer.from(sign(secret, unitId, channelId, timestampMs));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected) ? unitId : null;
}
