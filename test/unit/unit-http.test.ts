/** A started StreamingUnit (port 0) through its HTTP surface: /healthz, /metrics, 404, and a stalled loop. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { loadUnitConfig, type UnitConfig } from '../../streaming-unit/config.js';
import type { CsmLinkEvents } from '../../streaming-unit/CsmLink.js';
import { StreamingUnit, type StreamingUnitOptions } from '../../streaming-unit/StreamingUnit.js';
import { ScriptedCsm } from './helpers/scripted-csm.js';
import { nextEvent, until } from './helpers/wait.js';

const silent = pino({ level: 'silent' });

async function startUnit(t: TestContext, overrides: Partial<UnitConfig> = {}, options: StreamingUnitOptions = {}): Promise<{ unit: StreamingUnit; csm: ScriptedCsm; base: string }> {
  const csm = await ScriptedCsm.start({ epoch: 2 });
  const config = loadUnitConfig({ overrides: { unitId: 'u-http', port: 0, csmControlPort: csm.port, reconnectMinMs: 10, reconnectMaxMs: 40, ...overrides } });
  const unit = await StreamingUnit.start(config, silent, options);
  t.after(async () => {
    unit.close();
    await csm.close();
  });
  return { unit, csm, base: `http://127.0.0.1:${unit.port}` };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('streaming unit HTTP', () => {
  it('listens on a real port and advertises it to the CSM', async (t) => {
    const { unit, csm } = await startUnit(t);
    assert.ok(unit.port > 0);
    assert.equal(unit.address, `ws://127.0.0.1:${unit.port}`);
    await until(() => unit.link.linked, 'registration');
    assert.equal(csm.registers[0]!.address, unit.address);
  });

  it('GET /healthz reports the unit, and stays 200 when the CSM link is down', async (t) => {
    const { unit, csm, base } = await startUnit(t);
    await until(() => unit.link.linked, 'registration');
    unit.groups.createGroup(7, 0, 'root');
    unit.groups.addViewer(7, 0, 'v1');
    assert.deepEqual(await getJson(`${base}/healthz`), {
      status: 200,
      body: { ok: true, unitId: 'u-http', csmLinked: true, epoch: 2, groupsUsed: 1, groupsPerUnit: 50, groupSize: 10, viewers: 1 },
    });

    const down = nextEvent<CsmLinkEvents, 'disconnected'>(unit.link, 'disconnected');
    await csm.stop();
    await down;
    const { status, body } = await getJson(`${base}/healthz`);
    assert.equal(status, 200);
    assert.equal(body.csmLinked, false);
    assert.equal(body.groupsUsed, 1, 'the unit kept its groups');
  });

  it('GET /metrics serves the unit registry with its gauges and process metrics', async (t) => {
    const { unit, base } = await startUnit(t);
    await until(() => unit.link.linked, 'registration');
    unit.groups.createGroup(7, 0, 'root');
    unit.groups.createGroup(7, 1, 'member');
    unit.groups.addViewer(7, 1, 'v1');
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const line of [
      'onair_unit_groups_used{unit="u-http"} 2',
      'onair_unit_groups_total{unit="u-http"} 50',
      'onair_unit_viewers{unit="u-http"} 1',
      'onair_unit_csm_link_up{unit="u-http"} 1',
      'onair_unit_csm_epoch{unit="u-http"} 2',
    ]) {
      assert.ok(text.includes(line), `metrics lack "${line}"`);
    }
    assert.match(text, /^onair_unit_egress_bps\{unit="u-http"\} \d/m);
    assert.match(text, /^onair_unit_cpu_cores\{unit="u-http"\} \d/m);
    assert.match(text, /^process_cpu_user_seconds_total\{unit="u-http"\} \d/m);
  });

  it('answers unknown routes with 404 and a catalogue code', async (t) => {
    const { base } = await startUnit(t);
    for (const path of ['/', '/nope', '/healthz/x']) {
      const { status, body } = await getJson(`${base}${path}`);
      assert.equal(status, 404, path);
      assert.equal(body.code, 'UNIT_ERR_NOT_FOUND');
    }
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    assert.equal(post.status, 404);
    await post.arrayBuffer();
  });

  it('GET /healthz is 503 while the event loop is stalled, and recovers', async (t) => {
    const { base } = await startUnit(t, {}, { loop: { tickMs: 10, stallMs: 100, holdMs: 150 } });
    assert.equal((await getJson(`${base}/healthz`)).status, 200);
    // Block this process's loop (the unit shares it) well past the stall threshold.
    const until250 = performance.now() + 250;
    while (performance.now() < until250) {
      /* busy: a stalled loop */
    }
    const { status, body } = await getJson(`${base}/healthz`);
    assert.equal(status, 503);
    assert.equal(body.code, 'UNIT_ERR_UNHEALTHY');
    assert.ok((body.lagMs as number) >= 100, `lag ${String(body.lagMs)}`);
    await until(async () => (await getJson(`${base}/healthz`)).status === 200, '/healthz to recover after the hold');
  });

  it('close() is safe twice and frees the port', async (t) => {
    const { unit, base } = await startUnit(t);
    unit.close();
    unit.close();
    assert.equal(unit.closed, true);
    assert.equal(unit.link.state, 'closed');
    await assert.rejects(fetch(`${base}/healthz`));
  });
});
