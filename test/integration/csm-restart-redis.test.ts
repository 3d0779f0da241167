/**
 * `onair csm --redis`: a CSM that stops and starts again on the same Redis resumes the cluster — the
 * channels, their groups and titles — and its units reconnect without losing what they serve.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../csm/http/operator-auth.js';
import { freePort } from '../support/free-port.js';
import { startRedisServer } from '../support/redis-server.js';
import { CSM_READY, UNIT_READY, startOnair, waitFor, type OnairProcess } from '../support/processes.js';

describe('CSM restart on Redis', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  const processes: OnairProcess[] = [];
  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await redis?.stop();
  });

  it('resumes channels, groups and titles, and the unit keeps its group', async () => {
    const [httpPort, controlPort] = [await freePort(), await freePort()];
    const env = {
      ONAIR_CSM_CLUSTER_SECRET: 'restart-secret',
      ONAIR_CSM_OPERATORS: `op:${await hashPassword('pw')}`,
      ONAIR_CSM_HEARTBEAT_INTERVAL_MS: '200',
      ONAIR_CSM_LOG_LEVEL: 'warn',
    };
    const csmArgs = ['csm', '--http-port', String(httpPort), '--control-port', String(controlPort), '--redis', redis.url];
    const api = `http://127.0.0.1:${httpPort}`;
    const auth = { authorization: `Basic ${Buffer.from('op:pw').toString('base64')}` };
    const first = await startOnair(csmArgs, env, CSM_READY);
    processes.push(first);
    const unit = await startOnair(['unit', '--id', 'u1', '--port', '0', '--csm', `127.0.0.1:${controlPort}`], { ONAIR_UNIT_CLUSTER_SECRET: 'restart-secret', ONAIR_UNIT_LOG_LEVEL: 'warn', ONAIR_UNIT_RECONNECT_MAX_MS: '500' }, UNIT_READY);
    processes.push(unit);
    const unitHealth = async (): Promise<{ csmLinked: boolean; groupsUsed: number }> => (await (await fetch(`${unit.ready[2]!.replace(/^ws/, 'http')}/healthz`)).json()) as { csmLinked: boolean; groupsUsed: number };
    await waitFor('u1 linked', async () => (await unitHealth()).csmLinked);
    const opened = (await (await fetch(`${api}/api/v1/channels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'still here', broadcaster: 'kim' }) })).json()) as { channelId: number };
    await waitFor('the root group on u1', async () => (await unitHealth()).groupsUsed === 1);

    await first.stop();
    const second = await startOnair(csmArgs, env, CSM_READY);
    processes.push(second);
    assert.equal(Number(second.ready[4]), 2, 'the restarted CSM claims a newer epoch');
    const channel = (await (await fetch(`${api}/api/v1/channels/${opened.channelId}`)).json()) as { title: string; broadcaster: string; root: { unitId: string } };
    assert.deepEqual([channel.title, channel.broadcaster, channel.root.unitId], ['still here', 'kim', 'u1']);
    await waitFor('u1 to reconnect to the restarted CSM', async () => ((await (await fetch(`${api}/admin/v1/units/u1`, { headers: auth })).json()) as { connected: boolean }).connected);
    await waitFor('the unit to obey the new epoch', async () => ((await (await fetch(`${unit.ready[2]!.replace(/^ws/, 'http')}/healthz`)).json()) as { epoch: number }).epoch === 2);
    assert.equal((await unitHealth()).groupsUsed, 1, 'the unit lost its group across the CSM restart');
    // New channel ids continue after the old ones.
    const next = (await (await fetch(`${api}/api/v1/channels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'new', broadcaster: 'lee' }) })).json()) as { channelId: number };
    assert.ok(next.channelId > opened.channelId);
  });
});
