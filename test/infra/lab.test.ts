/**
 * `onair lab up | status | down` end to end, with the real keepalived, CSMs, Redis, units and web
 * server in network namespaces: everything comes up (both CSMs healthy, one active behind the VIP,
 * every unit registered with it through the VIP), the API's partition and cable pull cut exactly what
 * they say, and `down` leaves no namespace, link, process or state behind — and can run twice.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { Lab, type LabStatus } from '../../infra/lab/Lab.js';
import { isRunning, type ProcessRecord } from '../../infra/lab/processes.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));
const id = `t${randomBytes(3).toString('hex')}`;
const stateRoot = '/run/onair-lab';

const onairLab = async (...args: string[]): Promise<string> => (await run(process.execPath, [cli, 'lab', ...args, '--id', id, '--state-root', stateRoot], { timeout: 150_000, maxBuffer: 8 << 20 })).stdout;
const linkNames = async (): Promise<string[]> => (await run('ip', ['-o', 'link', 'show'])).stdout.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!).sort();
const netnsList = async (): Promise<string> => (await run('ip', ['netns', 'list'])).stdout;

describe('onair lab', () => {
  after(async () => {
    // a failed test still leaves nothing behind
    if (existsSync(`${stateRoot}/${id}/state.json`)) await Lab.open(id, stateRoot).down();
  });

  it('comes up, answers status, cuts links, and goes down leaving nothing', async () => {
    const linksBefore = await linkNames();
    const started = Date.now();
    const status = JSON.parse(await onairLab('up', '--units', '3')) as LabStatus;
    process.stdout.write(`lab ${id} up in ${Date.now() - started} ms\n`);

    // the whole cluster, healthy, one active CSM behind the VIP
    assert.equal(status.ready, true);
    assert.equal(status.vip, '198.18.0.10');
    assert.equal(status.vipHolders.length, 1, `one VIP holder: ${JSON.stringify(status.vipHolders)}`);
    const active = status.vipHolders[0]!;
    const standby = active === 'csm-a' ? 'csm-b' : 'csm-a';
    assert.ok(status.csms[active]!.ok && status.csms[standby]!.ok, JSON.stringify(status.csms));
    if (status.capabilities.csmRoles) {
      assert.equal(status.csms[active]!.role, 'active');
      assert.equal(status.csms[standby]!.role, 'backup');
    }
    for (const [name, host] of Object.entries(status.hosts)) {
      assert.equal(host.link, 'up', name);
      assert.match(host.namespace, new RegExp(`^onair-${id}-`));
      for (const [process, p] of Object.entries(host.processes)) assert.ok(p.alive, `${name} ${process} alive`);
    }
    assert.deepEqual(Object.keys(status.hosts['csm-a']!.processes).sort(), ['csm', 'keepalived']);
    assert.deepEqual(Object.keys(status.hosts.redis!.processes), ['redis']);
    assert.deepEqual(Object.keys(status.hosts.client!.processes), []);
    if (status.capabilities.web) assert.deepEqual(Object.keys(status.hosts.web!.processes), ['web']);
    else process.stdout.write('onair web is not available in this build: the web host is empty\n');

    // units registered with the active CSM, asked through the VIP with operator credentials
    const lab = Lab.open(id, stateRoot);
    const units = await lab.units();
    assert.deepEqual(units?.map((u) => [u.id, u.state, u.connected]).sort(), [
      ['unit-1', 'up', true],
      ['unit-2', 'up', true],
      ['unit-3', 'up', true],
    ]);
    const unitHealth = async (unit: string): Promise<number> => (await lab.http('client', `http://${lab.host(unit).address}:7101/healthz`)).status;
    assert.equal(await unitHealth('unit-1'), 200);
    if (status.capabilities.web) assert.ok((await lab.http('client', `http://${lab.host('web').address}:8080/`)).status > 0, 'the web server answers from the client host');
    const exec = await lab.exec('client', ['ip', '-br', 'addr', 'show', 'dev', 'eth0']);
    assert.match(exec.stdout, /198\.18\.0\.50\/24/, 'exec runs inside the host');

    // a partition cuts exactly one pair; a pulled cable cuts one host; both heal
    await lab.partition('client', 'unit-1');
    assert.equal(await unitHealth('unit-1'), 0, 'client and unit-1 are partitioned');
    assert.equal(await unitHealth('unit-2'), 200, 'client still reaches unit-2');
    await lab.linkDown('unit-2');
    assert.equal(await unitHealth('unit-2'), 0, "unit-2's cable is pulled");
    assert.equal((await lab.status()).hosts['unit-2']!.link, 'down');
    await lab.linkUp('unit-2');
    await lab.heal();
    assert.equal(await unitHealth('unit-1'), 200, 'healed');
    assert.equal(await unitHealth('unit-2'), 200, 'cable back');

    const again = JSON.parse(await onairLab('status')) as LabStatus;
    assert.deepEqual(again.vipHolders, [active]);

    // down: exactly what up made, and nothing after
    const records: ProcessRecord[] = [...lab.processes];
    assert.ok(records.length >= 8, `${records.length} processes recorded`);
    const report = JSON.parse(await onairLab('down')) as { leftovers: string[]; namespacesDeleted: string[] }[];
    assert.equal(report.length, 1);
    assert.deepEqual(report[0]!.leftovers, []);
    assert.equal(report[0]!.namespacesDeleted.length, 9, 'eight hosts and the switch');
    assert.ok(!(await netnsList()).includes(`onair-${id}-`), 'no namespace left');
    assert.deepEqual(await linkNames(), linksBefore, 'no link left in the root namespace');
    assert.deepEqual(records.filter(isRunning).map((r) => `${r.host}/${r.name} ${r.pid}`), [], 'no process left');
    assert.ok(!existsSync(`${stateRoot}/${id}`), 'no state left');
    assert.deepEqual(JSON.parse(await onairLab('down')), [], 'down again is a no-op');
  });
});
