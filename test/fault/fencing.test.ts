/**
 * Fencing with the real keepalived in the lab: what the store accepts when two CSMs both believe they
 * are active. The lab client (lab-client.ts) on the client host joins through the VIP every 100 ms,
 * samples both CSM hosts' /healthz every 100 ms, and watches Redis with MONITOR: every fenced script
 * (mirror, channel metadata, epoch claim) with the writer's address and epoch, and whether the store
 * applied it (client/redis-watch.ts).
 *
 * 5. The active CSM is paused (SIGSTOP) past the failover, then resumed: none of its writes is
 *    accepted after it resumes, a join that waited in its socket meanwhile is refused (503
 *    CSM_ERR_NOT_ACTIVE), the store's epoch stays the new one, its /healthz goes 503 (fenced) then
 *    200 as a backup, and no sample ever shows two actives.
 * 4. The two CSM hosts are partitioned from each other (both still reach Redis and everyone else):
 *    no write of an older epoch is accepted once a newer one was claimed, the epoch never goes back,
 *    and joins through the VIP keep succeeding (retried through each takeover).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../infra/lab/Lab.js';
import { procStat } from '../../infra/lab/processes.js';
import type { WriteGroup } from './client/redis-watch.js';
import { assertEveryJoinSucceeded, firstJoinAfter, joinsBetween, vipActiveOn } from './checks.js';
import { LabClient, settle, startFaultLab, waitFor, type ClientLine } from './harness.js';

interface StoreWatch {
  groups: WriteGroup[];
  claims: { at: number; source: string; epoch: number }[];
  violations: unknown[];
  unfenced: unknown[];
  epochs: { at: number; value: number | null; backwards: boolean }[];
  newestEpoch: number;
}

/** How long the partition lasts: the backup's takeover and the old active's fenced hold fit in it. */
const PARTITION_MS = 20_000;

describe('fault: fencing of a stale or cut-off active CSM (real keepalived, lab)', () => {
  let lab: Lab | undefined;
  let client: LabClient | undefined;

  before(async () => {
    lab = await startFaultLab();
    const health = `csm-a=${lab.host('csm-a').address},csm-b=${lab.host('csm-b').address}`;
    const redis = `redis://${lab.host('redis').address}:6379`;
    client = await LabClient.start(lab, ['--join-channel', 'new', '--vip-probe-ms', '50', '--health', health, '--redis-watch', redis]);
  });

  after(async () => {
    if (lab) for (const host of ['csm-a', 'csm-b']) lab.kill(host, 'csm', 'SIGCONT');
    await client?.stop();
    const report = await lab?.down();
    if (report && report.leftovers.length > 0) process.stderr.write(`lab leftovers: ${JSON.stringify(report.leftovers)}\n`);
  });

  const addressOf = (host: string): string => lab!.host(host).address;
  const store = async (from: number, to = Date.now()): Promise<StoreWatch> => (await client!.window(from, to))['redis'] as StoreWatch;
  const healthWindow = async (from: number, to = Date.now()): Promise<{ samples: number; twoActive: unknown[] }> => (await client!.window(from, to))['health'] as { samples: number; twoActive: unknown[] };

  it('a paused active (SIGSTOP past the failover, then SIGCONT) gets no write accepted and steps down; one active at a time', async (t) => {
    const l = lab!;
    const c = client!;
    const { active, standby } = await settle(l);
    const oldEpoch = (await l.csmHealth(active)).epoch!;

    assert.ok(l.kill(active, 'csm', 'SIGSTOP'));
    const pid = l.processes.find((p) => p.host === active && p.name === 'csm')!.pid;
    await waitFor(`the CSM on ${active} to be stopped`, () => procStat(pid)?.state === 'T', 5000, 2);
    const stopAt = Date.now();
    const vipMs = await vipActiveOn(c, standby, stopAt, 40_000);
    const joinMs = await firstJoinAfter(c, stopAt, 40_000);
    await waitFor('every unit registered with the new active', async () => {
      const units = await l.units();
      return units !== null && units.length === 3 && units.every((u) => u.state === 'up' && u.connected);
    }, 30_000, 200);
    const newEpoch = (await l.csmHealth(standby)).epoch!;
    assert.ok(newEpoch > oldEpoch, `the new active's epoch ${newEpoch} is above ${oldEpoch}`);
    const claim = (await store(stopAt)).claims.find((cl) => cl.epoch === newEpoch);
    assert.ok(claim, `the claim of epoch ${newEpoch} was seen in the store`);

    // A join sent to the paused CSM's own address sits in its socket until it resumes: it must be
    // refused then (the CSM notices its stall before it serves anything), never admitted.
    const joinChannel = c.ready['joinChannel'] as number;
    const queued = l.exec('client', ['curl', '--silent', '--noproxy', '*', '--max-time', '30', '--request', 'POST', '--header', 'content-type: application/json', '--data-binary', '{}', '--write-out', '\n%{http_code}', `http://${addressOf(active)}:7000/api/v1/channels/${joinChannel}/join`], { timeoutMs: 35_000 });
    await waitFor(`the join to wait in ${active}'s socket`, async () => {
      const sockets = await l.exec(active, ['ss', '-Htn', 'state', 'established', '( sport = :7000 )']);
      return sockets.stdout.split('\n').some((line) => line.includes(addressOf('client')) && Number(line.trim().split(/\s+/)[0]) > 0);
    }, 10_000, 50);

    const resumeAt = Date.now();
    assert.ok(l.kill(active, 'csm', 'SIGCONT'));
    // Its /healthz, asked inside its host: 503 while fenced, then 200 as a healthy backup.
    const seen: string[] = [];
    await waitFor(`${active} to answer 503 (fenced), then 200 as a backup`, async () => {
      const h = await l.csmHealth(active);
      const last = `${h.status}/${h.role}`;
      if (seen.at(-1) !== last) seen.push(last);
      return seen.some((s) => s.startsWith('503')) && h.status === 200 && h.role === 'backup';
    }, 20_000, 100);

    const answer = await queued;
    const cut = answer.stdout.lastIndexOf('\n');
    const queuedStatus = Number(answer.stdout.slice(cut + 1));
    assert.equal(queuedStatus, 503, `the join that waited for the paused CSM was answered ${answer.stdout}`);
    assert.equal((JSON.parse(answer.stdout.slice(0, cut)) as { code: string }).code, 'CSM_ERR_NOT_ACTIVE');

    const watch = await store(stopAt);
    assert.deepEqual(watch.violations, [], 'a write of an older epoch was accepted after a newer one');
    assert.deepEqual(watch.unfenced, [], 'a write to the fenced keys bypassed the fence');
    const stale = watch.groups.filter((g) => g.source === addressOf(active) && g.epoch < newEpoch && g.lastAcceptedAt !== null && g.lastAcceptedAt >= claim.at);
    assert.deepEqual(stale, [], `${active}'s writes with epoch ${oldEpoch} accepted after epoch ${newEpoch} was claimed`);
    const epochsAfter = watch.epochs.filter((e) => e.at >= claim.at);
    assert.ok(epochsAfter.every((e) => e.value === newEpoch) && !watch.epochs.some((e) => e.backwards), `the store's epoch after the claim: ${JSON.stringify(watch.epochs)}`);
    const health = await healthWindow(stopAt);
    assert.deepEqual(health.twoActive, [], 'two CSMs answered role=active at the same sampled moment');
    const joins = assertEveryJoinSucceeded(await joinsBetween(c, stopAt, resumeAt), 20, 'joins while the active was paused');

    // The event log: once it knows of the newer epoch, the old active appends nothing but its demotion.
    const events = (await c.request('events'))['events'] as { id: string; kind: string; epoch: number | null; csm: string | null }[];
    const late = events.filter((e) => e.csm === active && e.epoch === oldEpoch && Number(e.id.split('-')[0]) >= resumeAt);
    assert.ok(late.every((e) => e.kind === 'csm.demoted'), `${active} appended with its old epoch after it resumed: ${JSON.stringify(late)}`);
    const refused = watch.groups.filter((g) => g.source === addressOf(active) && g.epoch === oldEpoch).reduce((sum, g) => sum + g.refused, 0);
    t.diagnostic(
      `${active} paused: VIP role=active from ${standby} after ${vipMs} ms, first join after ${joinMs} ms; epoch ${oldEpoch} → ${newEpoch}; ` +
        `after SIGCONT ${active} answered ${seen.join(' → ')} to /healthz and 503 CSM_ERR_NOT_ACTIVE to the join that had waited, ${refused} of its writes refused; ${health.samples} health samples, none with two actives; joins ${JSON.stringify(joins)}; ` +
        `events of the old epoch after the resume: ${late.map((e) => e.kind).join(', ') || 'none'}`,
    );
  });

  it('a partition between the two CSM hosts: no write of an older epoch accepted, the epoch never goes back, joins keep succeeding', async (t) => {
    const l = lab!;
    const c = client!;
    const { active, standby } = await settle(l);
    const startEpoch = (await l.csmHealth(active)).epoch!;
    const linesFrom = c.lines.length;

    const cutAt = Date.now();
    await l.partition('csm-a', 'csm-b');
    try {
      await waitFor(`${PARTITION_MS} ms of partition`, () => Date.now() - cutAt >= PARTITION_MS, PARTITION_MS + 5000, 200);
    } finally {
      await l.heal();
    }
    const healAt = Date.now();
    // The two hosts may still take turns for a while after the heal (README, High availability); a loaded machine slows that down.
    const settled = await settle(l, 90_000);
    const settledAt = Date.now();

    const watch = await store(cutAt);
    assert.deepEqual(watch.violations, [], 'a write of an older epoch was accepted after a newer one was claimed or written');
    assert.deepEqual(watch.unfenced, [], 'a write to the fenced keys bypassed the fence');
    assert.ok(!watch.epochs.some((e) => e.backwards), `the store's epoch went backwards: ${JSON.stringify(watch.epochs)}`);
    const claims = watch.claims.filter((cl) => cl.at >= cutAt);
    // Every superseded epoch's writes stopped at the claim that superseded it.
    for (const cl of claims) {
      const late = watch.groups.filter((g) => g.epoch < cl.epoch && g.lastAcceptedAt !== null && g.lastAcceptedAt > cl.at);
      assert.deepEqual(late, [], `writes of an epoch below ${cl.epoch} accepted after it was claimed at ${cl.at}`);
    }
    const finalEpoch = (await l.csmHealth(settled.active)).epoch!;
    assert.equal(finalEpoch, Math.max(startEpoch, ...claims.map((cl) => cl.epoch)), 'the active after the heal holds the newest epoch');
    const joins = assertEveryJoinSucceeded(await joinsBetween(c, cutAt, healAt, 60_000), Math.floor(PARTITION_MS / 100 / 2), 'joins through the partition');
    const health = await healthWindow(cutAt, settledAt);
    const vipChanges = c.lines.slice(linesFrom).filter((line: ClientLine) => line.t === 'vip').map((line) => `${line['status']}/${line['csmId']}/${line['role']}/${line['epoch']}`);
    const refused = watch.groups.filter((g) => g.lastRefusedAt !== null && g.lastRefusedAt >= cutAt).map((g) => `${g.source} epoch ${g.epoch} ${g.kind}: ${g.refused}`);
    t.diagnostic(
      `partition ${active}(active, epoch ${startEpoch}) | ${standby} for ${healAt - cutAt} ms: epochs claimed ${claims.map((cl) => `${cl.epoch} by ${cl.source}`).join(', ') || 'none'}; ` +
        `after the heal ${settled.active} active with epoch ${finalEpoch}; refused writes: ${refused.join('; ') || 'none'}; ` +
        `samples with two actives: ${health.twoActive.length} of ${health.samples}; VIP answers: ${vipChanges.join(' → ')}; joins ${JSON.stringify(joins)}`,
    );
  });
});
