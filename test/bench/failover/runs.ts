/**
 * One measured fault of `onair bench failover`, in a lab that is up with the lab client running
 * (test/fault/harness.ts): a publisher, viewers, a join every 100 ms and a VIP probe every 50 ms, all
 * on the client host.
 *
 * - csmFailover: kill the active CSM host's `onair csm` (and, for a crash, its keepalived first, with
 *   its VRRP child: no priority-0 advert, so the backup waits out VRRP's master-down timer) and time
 *   keepalived's MASTER on the other host (its notify script is called), the VIP answering /healthz
 *   with role=active from the other host, the first join sent after the kill that succeeds (the new
 *   active admits viewers only to units that have re-registered with it, so this includes the units'
 *   reconnect), the units back; and what the viewers saw meanwhile. Then the old host's processes start again and the pair
 *   settles (it stays backup: nopreempt), ready for the next run.
 * - unitRehome: kill -9 the unit holding the channel's root; the time from the kill until every viewer
 *   plays (a frame) again on another unit; the unit starts again (empty) and registers.
 * - quietWindow: the same observation with no fault: the baseline of what viewers see here.
 */
import type { Lab } from '../../../infra/lab/Lab.js';
import type { JoinRecord } from '../../fault/client/joiner.js';
import type { ViewerWindow } from '../../fault/client/watchers.js';
import { firstJoinAfter, summarizeJoins, vipActiveOn } from '../../fault/checks.js';
import { keepalivedState, labCall, settle, waitFor, type LabClient } from '../../fault/harness.js';

export type CsmFault = 'crash' | 'process';

export interface CsmRun {
  fault: CsmFault;
  killed: string;
  /** kill → keepalived on the other host called notify_master (from its notify log) */
  masterMs: number | null;
  /** kill → the VIP answered /healthz role=active from the other host */
  vipMoveMs: number;
  /** kill → a join sent after the kill succeeded */
  firstJoinMs: number;
  /** kill → every unit registered with the new active (admin API through the VIP) */
  unitsBackMs: number;
  /** the longest pause between two frames at any viewer, kill → units back + 1 s */
  viewerLongestGapMs: number;
  /** the same less the time the client's own process (publisher and viewers) was stalled */
  viewerGapLessStallsMs: number;
  viewerDisconnects: number;
  joins: number;
  joinsRefused: number;
  joinsRetried: number;
  /** the answers joins got from the kill until the first success after it: "network", "503 CSM_ERR_…" → count */
  joinAnswers: Record<string, number>;
}

const log = (message: string): void => void process.stderr.write(`[bench failover] ${message}\n`);

/** What the viewers saw in [from, to]: the longest gap and the dropped sockets. */
export interface ViewersSeen {
  longestGapMs: number;
  lessStallsMs: number;
  disconnects: number;
  viewers: ViewerWindow[];
}

export async function viewersBetween(client: LabClient, from: number, to: number): Promise<ViewersSeen> {
  const viewers = (await client.window(from, to))['viewers'] as ViewerWindow[];
  return {
    longestGapMs: Math.max(0, ...viewers.map((v) => v.longestGapMs)),
    lessStallsMs: Math.max(0, ...viewers.map((v) => v.longestGapLessStallsMs)),
    disconnects: viewers.reduce((sum, v) => sum + v.disconnects.length, 0),
    viewers,
  };
}

export async function quietWindow(client: LabClient, ms: number): Promise<ViewersSeen> {
  const from = Date.now();
  await waitFor(`${ms} ms without a fault`, () => Date.now() - from >= ms, ms + 5000, 100);
  return viewersBetween(client, from, Date.now());
}

export async function csmFailover(lab: Lab, client: LabClient, fault: CsmFault): Promise<CsmRun> {
  const { active, standby } = await settle(lab, 60_000);
  const killAt = Date.now();
  if (fault === 'crash') lab.kill(active, 'keepalived', 'SIGKILL');
  lab.kill(active, 'csm', 'SIGKILL');
  // SIGKILL takes effect when the process is next scheduled: a request it took just before still got
  // its answer. Joins count from when it is gone.
  await waitFor(`the CSM on ${active} to be gone`, () => !lab.alive(active, 'csm'), 5000, 2);
  const deadAt = Date.now();
  const vipMoveMs = await vipActiveOn(client, standby, killAt, 30_000);
  const firstJoinMs = (await firstJoinAfter(client, deadAt, 30_000)) + (deadAt - killAt);
  await waitFor('every unit registered with the new active', async () => {
    const units = await lab.units();
    return units !== null && units.length > 0 && units.every((u) => u.state === 'up' && u.connected);
  }, 30_000, 100);
  const unitsBackMs = Date.now() - killAt;
  const master = keepalivedState(lab, standby);
  const masterMs = master?.event === 'MASTER' && master.at >= killAt - 1000 ? master.at - killAt : null;
  const end = Date.now() + 1000;
  await waitFor('a second after the units came back', () => Date.now() >= end, 3000, 50);
  const seen = await viewersBetween(client, killAt, Date.now());
  const joins = (await client.window(killAt, killAt + firstJoinMs))['joins'] as JoinRecord[];
  const run: CsmRun = {
    fault,
    killed: active,
    masterMs,
    vipMoveMs,
    firstJoinMs,
    unitsBackMs,
    viewerLongestGapMs: seen.longestGapMs,
    viewerGapLessStallsMs: seen.lessStallsMs,
    viewerDisconnects: seen.disconnects,
    joins: joins.length,
    joinsRefused: joins.filter((j) => j.refused !== null).length,
    joinsRetried: joins.filter((j) => j.attempts > 1).length,
    joinAnswers: summarizeJoins(joins).answers,
  };
  log(`${fault} of ${active}: MASTER ${masterMs} ms, VIP active ${vipMoveMs} ms, first join ${firstJoinMs} ms, units ${unitsBackMs} ms, viewer gap ${seen.longestGapMs} ms (${seen.lessStallsMs} ms less client stalls), drops ${seen.disconnects}, join answers ${JSON.stringify(run.joinAnswers)}`);
  return run;
}

export interface UnitRun {
  unit: string;
  /** kill → the last viewer's first frame on another unit */
  allPlayingMs: number;
  /** kill → each viewer's first frame on another unit */
  viewersMs: number[];
  publisherMs: number | null;
}

export async function unitRehome(lab: Lab, client: LabClient): Promise<UnitRun> {
  await settle(lab, 60_000);
  const channelId = client.ready['channelId'] as number;
  const channel = await labCall(lab, 'GET', `/admin/v1/channels/${channelId}`);
  if (channel.status !== 200) throw new Error(`the channel ${channelId}: ${channel.status} ${JSON.stringify(channel.body)}`);
  const unit = channel.body.root.unitId as string;
  const linesFrom = client.lines.length;
  const killAt = Date.now();
  lab.kill(unit, 'unit', 'SIGKILL');
  const viewersMs = await waitFor('every viewer to play again on another unit', async () => {
    const viewers = (await client.window(killAt))['viewers'] as ViewerWindow[];
    const firsts = viewers.map((v) => v.plays.find((p) => p.unitId !== unit && p.joinedAt >= killAt)?.at ?? null);
    return firsts.every((at) => at !== null) ? firsts.map((at) => at! - killAt) : null;
  }, 30_000, 50);
  const publisher = client.lines.slice(linesFrom).find((l) => l.t === 'publisher' && l['ev'] === 'reconnected');
  const run: UnitRun = { unit, allPlayingMs: Math.max(...viewersMs), viewersMs, publisherMs: publisher ? publisher.at - killAt : null };
  log(`unit ${unit} killed: viewers playing again after ${viewersMs.join(', ')} ms, publisher after ${run.publisherMs} ms`);
  await lab.start(unit, 'unit');
  await waitFor(`${unit} to register again`, async () => (await lab.units())?.find((u) => u.id === unit)?.connected === true, 30_000, 200);
  return run;
}
