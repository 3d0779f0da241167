/**
 * The assertions the fault tests share, over what the lab client reported (lab-client.ts): joins,
 * viewers, the VIP. Each failure message carries the numbers that broke it.
 */
import assert from 'node:assert/strict';
import type { JoinRecord } from './client/joiner.js';
import { GAP_KEEP_MS, type ViewerWindow } from './client/watchers.js';
import type { LabClient } from './harness.js';

/**
 * The longest pause between two frames a viewer may see while its unit is fine, not counting the
 * time the lab client's own process was stalled (it publishes the stream too): the stream sends a
 * frame every 20 ms, but this 2-core machine runs the whole lab and is shared with other test runs
 * (Chromium), so scheduling alone has held processes for ~100–150 ms here. A media outage (a dropped
 * socket, a rejoin) lasts seconds, far above this.
 */
export const NORMAL_GAP_LIMIT_MS = 400;

/** A longest gap for messages: 0 means none of GAP_KEEP_MS or more was seen. */
export const gapText = (ms: number): string => (ms === 0 ? `< ${GAP_KEEP_MS} ms` : `${ms} ms`);

/** Waits for the VIP to answer /healthz with role=active from `host`'s CSM, after `since`; the ms from `since`. */
export async function vipActiveOn(client: LabClient, host: string, since: number, timeoutMs = 30_000): Promise<number> {
  const line = await client.waitLine(`the VIP to answer role=active from ${host}`, (l) => l.t === 'vip' && l['sentAt'] >= since && l['status'] === 200 && l['csmId'] === host && l['role'] === 'active', timeoutMs);
  return line.at - since;
}

/** Waits for the first join (of `channelId`, or any) whose successful attempt was sent after `since`; the ms from `since` to its answer. */
export async function firstJoinAfter(client: LabClient, since: number, timeoutMs = 30_000, channelId?: number): Promise<number> {
  const match = (l: { t: string } & Record<string, any>): boolean => l.t === 'join' && l['okSentAt'] !== null && l['okSentAt'] >= since && (channelId === undefined || l['channelId'] === channelId);
  const line = await client.waitLine(`a join${channelId === undefined ? '' : ` of channel ${channelId}`} sent after the fault to succeed`, match, timeoutMs);
  return (line['okAt'] as number) - since;
}

export interface JoinSummary {
  joins: number;
  ok: number;
  retried: number;
  attempts: number;
  answers: Record<string, number>;
  slowestMs: number;
}

export function summarizeJoins(joins: readonly JoinRecord[]): JoinSummary {
  const answers: Record<string, number> = {};
  for (const j of joins) for (const [answer, count] of Object.entries(j.answers)) answers[answer] = (answers[answer] ?? 0) + count;
  return {
    joins: joins.length,
    ok: joins.filter((j) => j.okAt !== null).length,
    retried: joins.filter((j) => j.attempts > 1).length,
    attempts: joins.reduce((sum, j) => sum + j.attempts, 0),
    answers,
    slowestMs: Math.max(0, ...joins.map((j) => (j.okAt ?? Date.now()) - j.startedAt)),
  };
}

/** Every join in the window eventually succeeded; the only answers before that were retryable ones. */
export function assertEveryJoinSucceeded(joins: readonly JoinRecord[], minimum: number, what: string): JoinSummary {
  const summary = summarizeJoins(joins);
  assert.ok(joins.length >= minimum, `${what}: only ${joins.length} joins were made (expected ≥ ${minimum}): ${JSON.stringify(summary)}`);
  const refused = joins.filter((j) => j.refused !== null || j.okAt === null);
  assert.deepEqual(refused.map((j) => `join ${j.n}: ${j.refused ?? 'no answer yet'} after ${j.attempts} attempts`), [], `${what}: joins that did not succeed`);
  for (const answer of Object.keys(summary.answers)) assert.match(answer, /^(network|503 CSM_ERR_NOT_ACTIVE|503 CSM_ERR_\w+|429 CSM_ERR_RATE_LIMITED)$/, `${what}: a join got the non-retryable answer ${answer}`);
  return summary;
}

/** Joins started in [from, to], once every one of them has ended (each is retried until it succeeds or gives up). */
export async function joinsBetween(client: LabClient, from: number, to: number, timeoutMs = 30_000): Promise<JoinRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const joins = (await client.window(from, to))['joins'] as JoinRecord[];
    const pending = joins.filter((j) => j.pending);
    if (pending.length === 0) return joins;
    if (Date.now() > deadline) assert.fail(`${pending.length} joins started in the window were still being tried after ${timeoutMs} ms: ${JSON.stringify(pending.slice(0, 3))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Viewers that kept their sockets and saw no pause beyond the stream's normal spacing (not counting
 * the time the lab client's own process was stalled: it publishes the stream too). Returns the
 * longest pause, raw and less those stalls.
 */
export function assertViewersUninterrupted(viewers: readonly ViewerWindow[], what: string): { gapMs: number; lessStallsMs: number } {
  assert.ok(viewers.length > 0, `${what}: no viewers`);
  for (const v of viewers) {
    assert.deepEqual(v.disconnects, [], `${what}: viewer ${v.viewer} lost its media socket`);
    assert.equal(v.state, 'open', `${what}: viewer ${v.viewer} is ${v.state}`);
    assert.ok(v.framesInWindow > 0, `${what}: viewer ${v.viewer} got no frame`);
    assert.ok(
      v.longestGapLessStallsMs < NORMAL_GAP_LIMIT_MS,
      `${what}: viewer ${v.viewer} waited ${v.longestGapMs} ms between two frames (from ${v.longestGapFrom}; ${v.longestGapLessStallsMs} ms of it while the client process ran)`,
    );
  }
  return { gapMs: Math.max(...viewers.map((v) => v.longestGapMs)), lessStallsMs: Math.max(...viewers.map((v) => v.longestGapLessStallsMs)) };
}

/** "48 ms (30 ms less the client's own stalls)" */
export const gapsText = (g: { gapMs: number; lessStallsMs: number }): string => (g.gapMs === g.lessStallsMs ? gapText(g.gapMs) : `${gapText(g.gapMs)} (${gapText(g.lessStallsMs)} less the client's own stalls)`);
