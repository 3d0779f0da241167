/**
 * The real keepalived, two instances in two network namespaces on a bridge, with the rendered
 * configuration and the shipped scripts (stand-ins for the CSM's /healthz and for `onair`). For an
 * advert interval of 1 s and of 0.2 s (VRRPv3): one becomes MASTER and its notify script promotes;
 * a failing health check, a keepalived crash, an orderly stop and a pulled cable each move the VIP to
 * the other host, timed and printed; a host that comes back stays BACKUP (nopreempt); a partition
 * makes two masters and healing it leaves one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cutBetween, healBetween } from '../../infra/lab/netns.js';
import { sleep } from '../../infra/lab/system.js';
import { KeepalivedPair, VIP } from './keepalived-pair.js';

const measured: Record<string, Record<string, number>> = {};

function record(advert: number, what: string, ms: number): void {
  (measured[`advert ${advert} s`] ??= {})[what] = ms;
  process.stdout.write(`advert ${advert} s: ${what}: VIP moved in ${ms} ms\n`);
}

async function exactlyOneHolder(pair: KeepalivedPair, expected: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const holders = await pair.holders();
    if (holders.length === 1 && holders[0] === expected) return;
    if (Date.now() > deadline) assert.deepEqual(holders, [expected]);
    await sleep(50);
  }
}

/** the VIP stays where it is for `ms` (checked throughout) */
async function staysOn(pair: KeepalivedPair, host: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    assert.deepEqual(await pair.holders(), [host], `the VIP must stay on ${host}`);
    await sleep(100);
  }
}

describe('keepalived failover between two namespaces', () => {
  const pair = new KeepalivedPair();
  before(() => pair.setUp());
  after(async () => {
    await pair.tearDown();
    process.stdout.write(`VIP move times (ms): ${JSON.stringify(measured)}\n`);
  });

  for (const advert of (process.env['ONAIR_TEST_ADVERTS'] ?? '1,0.2').split(',').map(Number)) {
    it(`advert_int ${advert}: MASTER, health failure, return (nopreempt), crash, stop, cable, partition`, async () => {
      const downTimerMs = (3 + 106 / 256) * advert * 1000; // csm-a's master-down timer (priority 150)
      const slackMs = 1500;
      for (const host of ['csm-a', 'csm-b'] as const) {
        pair.configure(host, advert);
        pair.setHealthy(host, true);
      }

      // csm-a first: it becomes MASTER (no peer adverts) and promotes its CSM; csm-b joins as BACKUP
      let t0 = Date.now();
      pair.startKeepalived('csm-a');
      await pair.vipChange('csm-a', true, t0, downTimerMs + 5000);
      await pair.waitCall('csm-a', 'promote', 'MASTER', t0, 5000);
      pair.startKeepalived('csm-b');
      await pair.waitCall('csm-b', 'demote', 'BACKUP', t0, 10_000);
      await staysOn(pair, 'csm-a', 3 * advert * 1000);

      // csm-a's CSM answers 503: FAULT (demote), csm-b takes over (promote)
      t0 = Date.now();
      pair.setHealthy('csm-a', false);
      const healthMove = (await pair.vipChange('csm-b', true, t0, 2000 + downTimerMs + slackMs)) - t0;
      record(advert, 'health 503 on the master (check every 1 s, fall 1)', healthMove);
      await pair.waitCall('csm-a', 'demote', 'FAULT', t0, 5000);
      await pair.waitCall('csm-b', 'promote', 'MASTER', t0, 5000);
      await exactlyOneHolder(pair, 'csm-b', 2000);

      // csm-a healthy again, with the higher priority: back to BACKUP, the VIP stays on csm-b
      t0 = Date.now();
      pair.setHealthy('csm-a', true);
      await pair.waitCall('csm-a', 'demote', 'BACKUP', t0, 5000);
      await staysOn(pair, 'csm-b', Math.max(2000, 3 * advert * 1000));
      assert.ok(!pair.calls().some((c) => c.host === 'csm-a' && c.action === 'promote' && c.at >= t0), 'csm-a did not take the VIP back');

      // csm-b's keepalived crashes (SIGKILL, VRRP child too): csm-a takes over after its master-down timer
      t0 = Date.now();
      await pair.stopKeepalived('csm-b', 'SIGKILL');
      const crashMove = (await pair.vipChange('csm-a', true, t0, downTimerMs + slackMs + 2000)) - t0;
      record(advert, 'keepalived SIGKILL on the master', crashMove);
      assert.ok(crashMove < downTimerMs + slackMs, `crash move ${crashMove} ms`);
      if (advert === 0.2) assert.ok(crashMove < 1000, `with advert 0.2 s the VIP must move in under 1 s, took ${crashMove} ms`);
      assert.ok((await pair.holders()).includes('csm-b'), 'a crashed keepalived leaves its VIP behind (the CSM epoch fences the old active)');
      // csm-b's keepalived restarts: it drops the stale VIP and stays BACKUP
      t0 = Date.now();
      pair.startKeepalived('csm-b');
      await pair.waitCall('csm-b', 'demote', 'BACKUP', t0, 10_000);
      await exactlyOneHolder(pair, 'csm-a', 5000);

      // csm-a's keepalived stops in order (SIGTERM): priority 0 advert, csm-b takes over at once
      t0 = Date.now();
      const stopping = pair.stopKeepalived('csm-a', 'SIGTERM');
      const stopMove = (await pair.vipChange('csm-b', true, t0, downTimerMs + slackMs)) - t0;
      record(advert, 'keepalived SIGTERM on the master', stopMove);
      await stopping;
      await pair.waitCall('csm-a', 'demote', 'STOP', t0, 5000);
      t0 = Date.now();
      pair.startKeepalived('csm-a');
      await pair.waitCall('csm-a', 'demote', 'BACKUP', t0, 10_000);
      await staysOn(pair, 'csm-b', Math.max(2000, 3 * advert * 1000));

      // csm-b's cable is pulled: it goes FAULT, csm-a stops hearing it and takes over
      t0 = Date.now();
      await pair.setLink('csm-b', false);
      const linkMove = (await pair.vipChange('csm-a', true, t0, downTimerMs + slackMs + 2000)) - t0;
      record(advert, 'cable of the master pulled', linkMove);
      if (advert === 0.2) assert.ok(linkMove < 1000, `with advert 0.2 s the VIP must move in under 1 s, took ${linkMove} ms`);
      await pair.waitCall('csm-b', 'demote', 'FAULT', t0, 5000);
      t0 = Date.now();
      await pair.setLink('csm-b', true);
      await pair.waitCall('csm-b', 'demote', 'BACKUP', t0, 10_000);
      await exactlyOneHolder(pair, 'csm-a', 5000);

      // a partition between the two: both MASTER (split brain); healed: the lower priority yields
      const a = { namespace: pair.ns('csm-a'), address: '198.18.0.11' };
      const b = { namespace: pair.ns('csm-b'), address: '198.18.0.12' };
      t0 = Date.now();
      await cutBetween(a, b, 100);
      try {
        await pair.vipChange('csm-b', true, t0, downTimerMs + slackMs + 2000);
        assert.deepEqual((await pair.holders()).sort(), ['csm-a', 'csm-b']);
      } finally {
        await healBetween(a, b, 100);
      }
      await pair.vipChange('csm-b', false, t0, 5000);
      await exactlyOneHolder(pair, 'csm-a', 3000);

      await Promise.all([pair.stopKeepalived('csm-a', 'SIGTERM'), pair.stopKeepalived('csm-b', 'SIGTERM')]);
      assert.deepEqual(await pair.holders(), [], `an orderly stop removes ${VIP}`);
    });
  }
});
