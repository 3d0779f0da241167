/**
 * Fault tests with the real keepalived in the network-namespace lab (infra/lab): two CSM hosts behind
 * the VIP, Redis, three units, and a client host running the lab client (lab-client.ts): a publisher,
 * four TCP viewers, a join every 100 ms through the VIP, a probe of the VIP's /healthz every 50 ms and
 * of both CSM hosts' /healthz every 100 ms.
 *
 * 1. kill -9 of the active CSM: the VIP moves to the other host, whose CSM keepalived promoted serves
 *    joins; every channel and group is still there; viewers keep their sockets and see no pause beyond
 *    the stream's normal spacing; joins during the gap get only retryable answers and all succeed.
 * 2. the active CSM host's cable pulled (`linkDown`): the same.
 * 3. the old active comes back — its cable plugged back in, then its keepalived and CSM restarted —
 *    and stays backup (nopreempt): at no sampled moment do both CSMs answer role=active through their
 *    own addresses, and the VIP has one holder once settled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../infra/lab/Lab.js';
import type { ViewerWindow } from './client/watchers.js';
import { assertEveryJoinSucceeded, assertViewersUninterrupted, gapsText, firstJoinAfter, joinsBetween, vipActiveOn } from './checks.js';
import { activeHost, clusterView, keepalivedState, LabClient, labCall, lostBetween, OTHER, settle, startFaultLab, waitFor, type ClusterView } from './harness.js';

describe('fault: the active CSM fails (real keepalived, lab)', () => {
  let lab: Lab | undefined;
  let client: LabClient | undefined;

  before(async () => {
    lab = await startFaultLab();
    const health = `csm-a=${lab.host('csm-a').address},csm-b=${lab.host('csm-b').address}`;
    client = await LabClient.start(lab, ['--publish', 'fault: csm failover', '--viewers', '4', '--join-channel', 'new', '--vip-probe-ms', '50', '--health', health]);
    // Two more channels with trees to compare: one grown inside its unit, one across two units.
    for (const [title, groups] of [['grown', 12], ['wide', 55]] as const) {
      const opened: { status: number; body: any } = await labCall(lab, 'POST', '/api/v1/channels', { title, broadcaster: 'fault' }, false);
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      const expanded: { status: number; body: unknown } = await labCall(lab, 'POST', `/admin/v1/channels/${opened.body.channelId}/expand`, { groups });
      assert.equal(expanded.status, 200, JSON.stringify(expanded.body));
    }
  });

  after(async () => {
    await client?.stop();
    const report = await lab?.down();
    if (report && report.leftovers.length > 0) process.stderr.write(`lab leftovers: ${JSON.stringify(report.leftovers)}\n`);
  });

  /** The failover every scenario checks: `fault()` hits the active host; returns what was measured. */
  async function failover(t: { diagnostic: (message: string) => void }, name: string, fault: (active: string) => Promise<void> | void): Promise<{ active: string; standby: string }> {
    const l = lab!;
    const c = client!;
    const { active, standby } = await settle(l);
    const before = (await clusterView(l)) as ClusterView;
    assert.ok(before && before.channels.length >= 4, `the cluster before the fault: ${JSON.stringify(before)}`);

    // the fault is in place once `fault` returns (a cable pull is an `ip link` command): time from then
    await fault(active);
    const faultAt = Date.now();
    const vipMs = await vipActiveOn(c, standby, faultAt);
    const joinMs = await firstJoinAfter(c, faultAt);
    // The units reconnect through the VIP on their own; then the cluster is compared.
    await waitFor('every unit registered with the new active', async () => {
      const units = await l.units();
      return units !== null && units.length === 3 && units.every((u) => u.state === 'up' && u.connected);
    }, 30_000, 200);
    const unitsMs = Date.now() - faultAt;
    const after = await waitFor('the admin API through the VIP', () => clusterView(l), 10_000, 200);
    assert.deepEqual(lostBetween(before, after), [], `${name}: channels or groups lost`);
    assert.ok((after.epoch ?? 0) > (before.epoch ?? 0), `${name}: the new active holds a newer epoch (${before.epoch} → ${after.epoch})`);
    assert.equal((await l.csmHealth(standby)).role, 'active');

    // Two more seconds of media and joins with the new active, then what the client saw.
    const end = Date.now() + 2000;
    await waitFor('two seconds after the units came back', () => Date.now() >= end, 5000, 100);
    const window = await c.window(faultAt, Date.now());
    const gapMs = assertViewersUninterrupted(window['viewers'] as ViewerWindow[], name);
    const joins = await joinsBetween(c, faultAt - 500, faultAt + vipMs + 1000);
    const summary = assertEveryJoinSucceeded(joins, Math.floor((vipMs + 1500) / 100 / 2), name);
    assert.ok(summary.retried > 0, `${name}: no join saw the gap (${JSON.stringify(summary)})`);
    t.diagnostic(
      `${name} on ${active}: VIP answered role=active from ${standby} after ${vipMs} ms, first join after ${joinMs} ms, units back after ${unitsMs} ms; ` +
        `epoch ${before.epoch} → ${after.epoch}; longest pause at a viewer ${gapsText(gapMs)}; joins ${JSON.stringify(summary)}`,
    );
    return { active, standby };
  }

  it('kill -9 of the active CSM: the backup takes the VIP and serves, nothing lost, media uninterrupted, joins only retried', async (t) => {
    await failover(t, 'kill -9 of the active CSM', async (active) => {
      assert.ok(lab!.kill(active, 'csm', 'SIGKILL'), `the CSM on ${active} was running`);
      // gone once the kernel has run the kill (a request it took just before still got its answer)
      await waitFor(`the CSM on ${active} to be gone`, () => !lab!.alive(active, 'csm'), 5000, 2);
    });
  });

  let cablePulled: string | null = null;

  it('the active CSM host loses its link: the same', async (t) => {
    const { active } = await failover(t, 'cable of the active CSM host pulled', async (host) => {
      await lab!.linkDown(host);
    });
    cablePulled = active;
    // The host without its cable: keepalived there went FAULT and demoted its CSM (loopback still works).
    await waitFor(`keepalived on ${active} to go FAULT`, () => keepalivedState(lab!, active)?.event === 'FAULT', 10_000, 100);
  });

  it('the old active comes back (cable, then keepalived and CSM restarted): it stays backup, never two actives', async (t) => {
    const l = lab!;
    const c = client!;
    const old = cablePulled ?? OTHER[await activeHost(l)];
    const active = OTHER[old as keyof typeof OTHER];
    const from = Date.now();
    const healthFrom = c.lines.length;

    await l.linkUp(old);
    await waitFor(`${old} to be a healthy backup with keepalived BACKUP`, async () => (await l.csmHealth(old)).role === 'backup' && keepalivedState(l, old)?.event === 'BACKUP', 20_000, 200);
    // keepalived and the CSM on the old host restarted too: still backup
    assert.ok(l.kill(old, 'keepalived', 'SIGTERM'));
    await waitFor(`keepalived on ${old} to stop`, () => !l.alive(old, 'keepalived'), 10_000, 100);
    await l.start(old, 'keepalived');
    assert.ok(l.kill(old, 'csm', 'SIGKILL'));
    await waitFor(`the CSM on ${old} to be gone`, () => !l.alive(old, 'csm'), 5000, 50);
    await l.start(old, 'csm');
    await waitFor(`${old} to be a healthy backup again`, async () => {
      const health = await l.csmHealth(old);
      return health.status === 200 && health.role === 'backup' && keepalivedState(l, old)?.event === 'BACKUP';
    }, 20_000, 200);
    // Watch for longer than a master-down interval (3 × advert + skew): the VIP must not move back.
    const watchUntil = Date.now() + 5000;
    while (Date.now() < watchUntil) {
      assert.deepEqual(await l.vipHolders(), [active], `the VIP must stay on ${active}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const window = await c.window(from, Date.now());
    const health = window['health'] as { samples: number; twoActive: unknown[]; changes: { host: string; status: number; role: string | null; epoch: number | null }[] };
    assert.deepEqual(health.twoActive, [], 'two CSMs answered role=active through their own addresses at the same sampled moment');
    assert.ok(!health.changes.some((ch) => ch.host === old && ch.role === 'active'), `${old} answered role=active after it came back`);
    assert.ok(c.lines.slice(healthFrom).some((line) => line.t === 'health' && line['host'] === old && line['status'] === 200 && line['role'] === 'backup'), `${old} was sampled as a healthy backup`);
    assert.equal((await l.csmHealth(active)).role, 'active');
    assertViewersUninterrupted(window['viewers'] as ViewerWindow[], 'while the old active came back');
    t.diagnostic(`${old} came back and stayed backup; ${health.samples} health samples in all, none with two actives; VIP on ${active} alone`);
  });
});
