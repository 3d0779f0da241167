/**
 * Bad input against a real unit process, for a bounded time: random bytes, mutated frames, frames for
 * other channels, random and mutated text messages, on ingest, watch and relay sockets with valid
 * tickets (so the input gets past admission). Meanwhile a real publisher streams on another channel
 * to a viewer. Afterwards: the unit process is alive and healthy, the viewer kept playing without a
 * disconnect, every fuzz socket was closed with a code (never a crash), and the unit holds no
 * connection or viewer the fuzzing left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { Codec, encodeFrame, FrameKind } from '../../protocol/media-frame.js';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Publisher } from '../../web/client/Publisher.js';
import { Viewer } from '../../web/client/Viewer.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { waitFor } from '../support/processes.js';
import { SyntheticSource, videoCount, watch } from '../client/stream-fixture.js';
import { TestWs } from './ws-client.js';

const FUZZ_MS = 4000;
const MAX_ROUNDS = 400;

describe('a unit under fuzzed media input', () => {
  let cluster: ProcessCluster;
  let api: CsmApi;
  let publisher: Publisher | undefined;
  let source: SyntheticSource | undefined;
  let viewer: Viewer | undefined;
  const open: TestWs[] = [];

  before(async () => {
    cluster = await startProcessCluster(['fz-1'], { media: true, unitEnv: { ONAIR_UNIT_MAX_CONNECTIONS_PER_IP: '10000' } });
    api = new CsmApi({ baseUrl: cluster.api });
  });

  after(async () => {
    source?.stop();
    publisher?.close();
    viewer?.close();
    for (const ws of open) ws.destroy();
    api?.close();
    await cluster?.stop();
  });

  it('survives random and mutated frames and messages; the other channel keeps playing', async () => {
    const options = { api, WebSocket, maxAttempts: 3 };
    publisher = await Publisher.open(options, { title: 'good', broadcaster: 'node' });
    await waitFor('the good publisher', () => publisher!.state === 'open');
    source = new SyntheticSource(publisher);
    viewer = new Viewer({ ...options, channelId: publisher.channelId });
    const frames = watch(viewer);
    const drops: number[] = [];
    viewer.events.on('disconnected', (code) => drops.push(code));
    await viewer.start();
    await waitFor('the good viewer plays', () => videoCount(frames) >= 10);

    const target = await api.openChannel('fuzz target', 'fuzzer');
    const base = target.url.replace(/\/+$/, '');
    const joins = await Promise.all([0, 1, 2, 3].map(() => api.join(target.channelId)));
    const unitHttp = cluster.units.get('fz-1')!.http;
    const viewersBefore = await metric(unitHttp, 'onair_unit_viewers');
    const validFrame = encodeFrame({ channel: target.channelId, seq: 1, timestamp: 1000, kind: FrameKind.VIDEO, keyframe: true, codec: Codec.VP8, payload: new Uint8Array(300).fill(9) });
    const validChat = JSON.stringify({ t: 'chat', text: 'hello' });

    const binary = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      // a valid frame with a few bytes changed, cut short, or grown
      fc.tuple(fc.array(fc.tuple(fc.nat(validFrame.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(validFrame.length + 50)).map(([flips, cut]) => {
        const bytes = Buffer.from(validFrame);
        for (const [at, value] of flips) bytes[at] = value;
        return cut < validFrame.length ? bytes.subarray(0, cut) : Buffer.concat([bytes, Buffer.alloc(cut - validFrame.length, 7)]);
      }),
    );
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 3 }),
      fc.tuple(fc.nat(validChat.length - 1), fc.string({ minLength: 1, maxLength: 3 })).map(([at, s]) => validChat.slice(0, at) + s + validChat.slice(at + 1)),
      fc.constantFrom('{"t":"udp-answer","sdp":"v=0 garbage"}', '{"t":"udp-candidate","candidate":"nonsense","mid":"0"}', '{"t":"report","mode":"udp","loss":2,"latencyMs":null}', '{"t":"keyframe","x":1}'),
    );
    const input = fc.record({ route: fc.constantFrom('ingest', 'watch', 'relay'), messages: fc.array(fc.oneof(binary.map((b) => ({ b })), text.map((t) => ({ t }))), { minLength: 1, maxLength: 5 }) });

    const deadline = Date.now() + FUZZ_MS;
    const closes = new Map<number, number>();
    let rounds = 0;
    while (Date.now() < deadline && rounds < MAX_ROUNDS) {
      const batch = fc.sample(input, 8);
      await Promise.all(
        batch.map(async ({ route, messages }, i) => {
          const join = joins[(rounds + i) % joins.length]!;
          const path = route === 'ingest' ? `/ingest/${target.channelId}?t=${encodeURIComponent(target.ticket)}` : route === 'watch' ? `/watch/${target.channelId}?t=${encodeURIComponent(join.ticket)}` : `/relay/${target.channelId}?u=x&ts=${Date.now()}&sig=forged`;
          const ws = await TestWs.connect(`${base}${path}`);
          open.push(ws);
          for (const m of messages) {
            if ('b' in m) ws.sendBinary(m.b);
            else ws.sendText(m.t);
          }
          ws.close();
          const info = await Promise.race([ws.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000))]);
          assert.ok(info, 'the unit answered every fuzz socket by closing it');
          closes.set(info.code, (closes.get(info.code) ?? 0) + 1);
        }),
      );
      rounds++;
    }
    assert.ok(rounds >= 5, `${rounds} rounds ran`);
    assert.equal(closes.get(1006) ?? 0, 0, `no abrupt close: ${JSON.stringify([...closes])}`);

    const health = await fetch(`${unitHttp}/healthz`);
    assert.equal(health.status, 200, 'the unit is healthy');
    const exited = await Promise.race([cluster.units.get('fz-1')!.process.exited.then(() => true), Promise.resolve(false)]);
    assert.equal(exited, false, 'the unit process is alive');
    await waitFor('the fuzz viewers are gone from the unit', async () => (await metric(unitHttp, 'onair_unit_viewers')) === viewersBefore);
    const before = videoCount(frames);
    await waitFor('the good viewer still plays', () => videoCount(frames) >= before + 30);
    assert.deepEqual(drops, [], 'the good viewer was never disconnected');
    assert.equal(viewer.stats.seqGaps, 0);
  });
});

async function metric(httpBase: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpBase}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  assert.ok(line, `metric ${name}`);
  return Number(line.split(' ').at(-1));
}
