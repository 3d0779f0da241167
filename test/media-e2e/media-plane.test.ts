/**
 * The unit's media plane end to end: a real StreamingUnit (port 0, no CSM: groups are created
 * directly through unit.groups), real sockets through the `ws` package (ws-client.ts),
 * tickets signed with a fresh Ed25519 pair.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { MEDIA_CLOSE } from '../../protocol/media-close-codes.js';
import { Codec, encodeFrame, FrameKind, peekFrameHeader } from '../../protocol/media-frame.js';
import { TICKET_ERRORS } from '../../protocol/ticket-errors.js';
import { generateTicketKeys, TicketSigner, type Grant, type TicketKeyPair } from '../../protocol/tickets.js';
import { loadUnitConfig, type UnitConfig } from '../../streaming-unit/config.js';
import { relayQuery } from '../../streaming-unit/media/relay-auth.js';
import { DRAIN_MEASURE_MIN_MS } from '../../streaming-unit/media/limits.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import type { RingOptionsInput } from '../../streaming-unit/media/RingBuffer.js';
import { StreamingUnit } from '../../streaming-unit/StreamingUnit.js';
import { until } from '../unit/helpers/wait.js';
import { TestWs } from './ws-client.js';
import WebSocket from 'ws';
import type { JoinResult } from '../../protocol/service-api.js';
import { Viewer, type VideoHold } from '../../web/client/Viewer.js';

const silent = pino({ level: process.env.MEDIA_TEST_LOG ?? 'silent' });
const UNIT_ID = 'u-media';

let keys: TicketKeyPair;
let signer: TicketSigner;
const units: StreamingUnit[] = [];
const sockets: TestWs[] = [];
/**
 * Holds the unit's CSM port for the whole file and hangs up on every connection: a port that was
 * merely free could be taken by a CSM of a test running alongside, which would then drop our groups.
 * The random cluster secret makes any CSM refuse this unit anyway.
 */
let noCsm: Server;
const secret = randomBytes(12).toString('base64url');

async function startUnit(overrides: Partial<UnitConfig> = {}, ring?: RingOptionsInput): Promise<StreamingUnit> {
  const config = loadUnitConfig({
    overrides: {
      unitId: UNIT_ID,
      port: 0,
      // No CSM: the unit keeps retrying in the background, which media does not need.
      csmControlPort: (noCsm.address() as { port: number }).port,
      clusterSecret: secret,
      reconnectMinMs: 1000,
      reconnectMaxMs: 5000,
      ticketPublicJwk: JSON.stringify(keys.publicJwk),
      ...overrides,
    },
  });
  const unit = await StreamingUnit.start(config, silent, ring ? { ring } : {});
  units.push(unit);
  return unit;
}

async function connect(unit: StreamingUnit, path: string, headers: Record<string, string> = {}): Promise<TestWs> {
  const ws = await TestWs.connect(`ws://127.0.0.1:${unit.port}${path}`, headers);
  sockets.push(ws);
  return ws;
}

const ticket = (grant: Grant): Promise<string> => signer.sign(grant);
const publishPath = async (channel: number, ticketChannel = channel): Promise<string> =>
  `/ingest/${channel}?t=${await ticket({ role: 'publish', channel: ticketChannel, id: `p${channel}` })}`;
const watchPath = async (channel: number, group: number, id: string, unit = UNIT_ID): Promise<string> =>
  `/watch/${channel}?t=${await ticket({ role: 'view', channel, unit, group, id })}`;

function video(channel: number, seq: number, keyframe: boolean, size = 200): Uint8Array {
  return encodeFrame({ channel, seq, timestamp: seq * 33_000, kind: FrameKind.VIDEO, keyframe, codec: Codec.VP8, payload: new Uint8Array(size).fill(seq & 0xff) });
}
function audio(channel: number, seq: number): Uint8Array {
  return encodeFrame({ channel, seq, timestamp: seq * 20_000, kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: new Uint8Array(60).fill(7) });
}

async function expectClose(ws: TestWs, code: number): Promise<void> {
  const info = await Promise.race([ws.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no close, expected ${code}`)), 5000))]);
  assert.equal(info.code, code, `close ${info.code} "${info.reason}", expected ${code}`);
}

before(async () => {
  noCsm = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => noCsm.listen(0, '127.0.0.1', resolve));
  keys = await generateTicketKeys();
  signer = await TicketSigner.fromJwk(keys.privateJwk);
});

after(() => {
  for (const ws of sockets) ws.destroy();
  for (const unit of units) unit.close();
  noCsm.close();
});

describe('media plane: ingest to TCP viewers', () => {
  let unit: StreamingUnit;
  before(async () => {
    unit = await startUnit();
  });

  it('relays the publisher frames byte-identical, starting the viewer at the newest keyframe', async () => {
    unit.groups.createGroup(7, 0, 'root');
    const publisher = await connect(unit, await publishPath(7));
    await until(() => unit.groups.publisherConnected(7), 'publisher connected');
    const before = [video(7, 0, true), video(7, 1, false), audio(7, 2), video(7, 3, true), video(7, 4, false)];
    for (const frame of before) publisher.sendBinary(frame);
    await until(() => unit.media.channel(7)?.ring.stats().framesWritten === 5, 'five frames in the ring');

    const viewer = await connect(unit, await watchPath(7, 0, 'viewer-1'));
    const first = await viewer.waitForMessages(2);
    assert.ok(first[0]!.equals(before[3]!), 'the first frame is the newest keyframe, byte for byte');
    assert.ok(first[1]!.equals(before[4]!));
    const head = peekFrameHeader(first[0]!);
    assert.equal(head.kind, FrameKind.VIDEO);
    assert.equal(head.keyframe, true);
    assert.equal(unit.groups.viewerCount, 1, 'the join reached UnitGroups');
    assert.ok(unit.groups.group(0)!.viewerIds.has('viewer-1'));

    const live = [audio(7, 5), video(7, 6, false, 100_000), video(7, 7, true, 300_000)];
    for (const frame of live) publisher.sendBinary(frame);
    const all = await viewer.waitForMessages(5);
    for (let i = 0; i < live.length; i++) assert.ok(all[2 + i]!.equals(live[i]!), `live frame ${i} is byte-identical`);

    viewer.close();
    await until(() => unit.groups.viewerCount === 0, 'the leave reached UnitGroups');
    publisher.close();
    await until(() => !unit.groups.publisherConnected(7), 'publisher disconnected');
  });

  it('a second publisher replaces the first', async () => {
    unit.groups.createGroup(15, 5, 'root');
    const first = await connect(unit, await publishPath(15));
    await until(() => unit.groups.publisherConnected(15), 'first publisher');
    const second = await connect(unit, await publishPath(15));
    await expectClose(first, MEDIA_CLOSE.MEDIA_REPLACED.closeCode);
    second.sendBinary(video(15, 0, true));
    await until(() => unit.media.channel(15)?.ring.stats().framesWritten === 1, 'the new publisher writes');
    assert.equal(unit.groups.publisherConnected(15), true);
  });

  it('refuses bad tickets with their ticket close codes', async () => {
    unit.groups.createGroup(8, 1, 'root');
    const past = await TicketSigner.fromJwk(keys.privateJwk, { clock: () => Date.now() - 600_000 });
    const expired = await connect(unit, `/ingest/8?t=${await past.sign({ role: 'publish', channel: 8, id: 'old' })}`);
    await expectClose(expired, TICKET_ERRORS.TICKET_EXPIRED.closeCode);
    const wrongChannel = await connect(unit, await publishPath(8, 9));
    await expectClose(wrongChannel, TICKET_ERRORS.TICKET_WRONG_CHANNEL.closeCode);
    const wrongUnit = await connect(unit, await watchPath(8, 1, 'v-wrong-unit', 'another-unit'));
    await expectClose(wrongUnit, TICKET_ERRORS.TICKET_WRONG_UNIT.closeCode);
    const viewTicketToIngest = await connect(unit, `/ingest/8?t=${await ticket({ role: 'view', channel: 8, unit: UNIT_ID, group: 1, id: 'v' })}`);
    await expectClose(viewTicketToIngest, TICKET_ERRORS.TICKET_WRONG_ROLE.closeCode);
    const none = await connect(unit, '/watch/8');
    await expectClose(none, TICKET_ERRORS.TICKET_MALFORMED.closeCode);
    assert.equal(unit.groups.viewerCount, 0);
    assert.equal(unit.groups.publisherConnected(8), false);
  });

  it('refuses ingest on a unit without the root, bad paths, and groups not served here', async () => {
    unit.groups.createGroup(9, 3, 'member');
    const notRoot = await connect(unit, await publishPath(9));
    await expectClose(notRoot, MEDIA_CLOSE.MEDIA_NOT_ROOT_UNIT.closeCode);
    const badPath = await connect(unit, '/ingest/abc?t=x');
    await expectClose(badPath, MEDIA_CLOSE.MEDIA_BAD_REQUEST.closeCode);
    const noGroup = await connect(unit, await watchPath(9, 4, 'v-no-group'));
    await expectClose(noGroup, MEDIA_CLOSE.MEDIA_NO_SUCH_GROUP.closeCode);
    await assert.rejects(TestWs.connect(`ws://127.0.0.1:${unit.port}/nowhere/1`), (e: { status?: number }) => e.status === 404);
  });

  it('refuses the 11th viewer of a full group', async () => {
    unit.groups.createGroup(11, 2, 'root');
    const viewers: TestWs[] = [];
    for (let i = 0; i < 10; i++) viewers.push(await connect(unit, await watchPath(11, 2, `full-${i}`)));
    await until(() => unit.groups.group(2)!.viewerIds.size === 10, 'ten viewers joined');
    const eleventh = await connect(unit, await watchPath(11, 2, 'full-10'));
    await expectClose(eleventh, MEDIA_CLOSE.MEDIA_GROUP_FULL.closeCode);
    assert.equal(unit.groups.group(2)!.viewerIds.size, 10);
    for (const v of viewers) v.close();
    await until(() => unit.groups.group(2)!.viewerIds.size === 0, 'all left');
  });

  it('closes only the publisher that sends a malformed frame; the unit keeps serving others', async () => {
    unit.groups.createGroup(12, 6, 'root');
    unit.groups.createGroup(13, 7, 'root');
    const bad = await connect(unit, await publishPath(12));
    const good = await connect(unit, await publishPath(13));
    const viewer = await connect(unit, await watchPath(13, 7, 'v13'));
    await until(() => unit.groups.publisherConnected(12) && unit.groups.publisherConnected(13) && unit.groups.viewerCount === 1, 'connected');
    bad.sendBinary(Buffer.from([0x93, 0x01, 0x02]));
    await expectClose(bad, MEDIA_CLOSE.MEDIA_BAD_FRAME.closeCode);
    assert.match(bad.closeInfo!.reason, /^FRAME_ERR_/);
    await until(() => !unit.groups.publisherConnected(12), 'bad publisher gone');

    const frame = video(13, 0, true);
    good.sendBinary(frame);
    const [got] = await viewer.waitForMessages(1);
    assert.ok(got!.equals(frame));
    const health = await fetch(`http://127.0.0.1:${unit.port}/healthz`);
    assert.equal(health.status, 200);

    const text = await connect(unit, await publishPath(12));
    text.sendText('hello');
    await expectClose(text, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode);
    const other = await connect(unit, await publishPath(12));
    other.sendBinary(video(13, 1, true));
    await expectClose(other, MEDIA_CLOSE.MEDIA_FRAME_WRONG_CHANNEL.closeCode);
    const big = await connect(unit, await publishPath(12));
    big.sendBinary(video(12, 2, true, 1024 * 1024 + 1));
    await expectClose(big, MEDIA_CLOSE.MEDIA_FRAME_TOO_LARGE.closeCode);
    viewer.sendText('hi');
    await expectClose(viewer, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode);
    const binaryViewer = await connect(unit, await watchPath(13, 7, 'v13b'));
    binaryViewer.sendBinary(Buffer.from([1, 2, 3]));
    await expectClose(binaryViewer, MEDIA_CLOSE.MEDIA_UNEXPECTED_MESSAGE.closeCode);
  });

  it('closeChannel closes the viewers and the publisher with the rejoin code and drops the ring', async () => {
    unit.groups.createGroup(14, 8, 'root');
    unit.groups.createGroup(14, 9, 'member');
    const publisher = await connect(unit, await publishPath(14));
    const v1 = await connect(unit, await watchPath(14, 8, 'v14a'));
    const v2 = await connect(unit, await watchPath(14, 9, 'v14b'));
    await until(() => unit.groups.viewerCount === 2 && unit.groups.publisherConnected(14), 'connected');
    unit.groups.closeChannel(14);
    await expectClose(v1, MEDIA_CLOSE.MEDIA_REJOIN.closeCode);
    await expectClose(v2, MEDIA_CLOSE.MEDIA_REJOIN.closeCode);
    await expectClose(publisher, MEDIA_CLOSE.MEDIA_REJOIN.closeCode);
    assert.equal(unit.media.channel(14), undefined);
    assert.equal(unit.groups.viewerCount, 0);
  });

  it('evacuation also sends the rejoin code', async () => {
    unit.groups.createGroup(16, 10, 'root');
    const v = await connect(unit, await watchPath(16, 10, 'v16'));
    await until(() => unit.groups.viewerCount === 1, 'joined');
    unit.groups.evacuate([16]);
    await expectClose(v, MEDIA_CLOSE.MEDIA_REJOIN.closeCode);
    assert.equal(unit.media.channel(16), undefined);
  });
});

describe('media plane: chat, keyframe requests, relay admission', () => {
  let unit: StreamingUnit;
  before(async () => {
    unit = await startUnit({ maxConnectionsPerIp: 64 });
  });
  const chatLines = (ws: TestWs): { from: string; text: string }[] =>
    ws.texts.map((t) => JSON.parse(t) as { t: string; from: string; text: string }).filter((m) => m.t === 'chat');

  it('fans a chat line out to the channel only, stamped with its sender, and rate-limits each sender', async () => {
    unit.groups.createGroup(30, 0, 'root');
    unit.groups.createGroup(31, 1, 'root');
    const publisher = await connect(unit, await publishPath(30));
    const a = await connect(unit, await watchPath(30, 0, 'chat-a'));
    const b = await connect(unit, await watchPath(30, 0, 'chat-b'));
    const elsewhere = await connect(unit, await watchPath(31, 1, 'chat-other'));
    await until(() => unit.groups.viewerCount === 3 && unit.groups.publisherConnected(30), 'connected');
    for (let i = 0; i < 8; i++) a.sendText(JSON.stringify({ t: 'chat', text: `line ${i}` }));
    publisher.sendText(JSON.stringify({ t: 'chat', text: 'welcome' }));
    await until(() => chatLines(b).length === 6, 'five lines of the burst and the broadcaster line');
    assert.deepEqual(chatLines(b).filter((l) => l.from === 'chat-a').map((l) => l.text), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    assert.deepEqual(chatLines(publisher).find((l) => l.from === 'broadcaster')?.text, 'welcome');
    assert.equal(chatLines(elsewhere).length, 0, 'another channel hears nothing');

    a.sendText(JSON.stringify({ t: 'chat', text: 'x'.repeat(501) }));
    await expectClose(a, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode);
    b.sendText('{"t":"udp-answer"}');
    await expectClose(b, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode);
  });

  it('passes a viewer keyframe request on to the publisher, at most once per half second', async () => {
    unit.groups.createGroup(32, 2, 'root');
    const publisher = await connect(unit, await publishPath(32));
    const v = await connect(unit, await watchPath(32, 2, 'kf'));
    await until(() => unit.groups.publisherConnected(32) && unit.groups.group(2)!.viewerIds.size === 1, 'connected');
    v.sendText('{"t":"keyframe"}');
    v.sendText('{"t":"keyframe"}');
    await until(() => publisher.texts.some((t) => JSON.parse(t).t === 'keyframe'), 'a keyframe request');
    const marker = await connect(unit, await watchPath(32, 2, 'kf-2'));
    marker.sendText(JSON.stringify({ t: 'chat', text: 'after' }));
    await until(() => chatLines(publisher).length === 1, 'the later chat line');
    assert.equal(publisher.texts.filter((t) => JSON.parse(t).t === 'keyframe').length, 1, 'the second request inside the interval is not passed on');
  });

  it('refuses a relay link without a valid cluster signature, and serves one with it', async () => {
    unit.groups.createGroup(33, 3, 'root');
    const forged = await connect(unit, `/relay/33?${relayQuery('not-the-secret', 'u-child', 33)}`);
    await expectClose(forged, MEDIA_CLOSE.MEDIA_RELAY_REFUSED.closeCode);
    const stale = await connect(unit, `/relay/33?${relayQuery(secret, 'u-child', 33, Date.now() - 120_000)}`);
    await expectClose(stale, MEDIA_CLOSE.MEDIA_RELAY_REFUSED.closeCode);
    const otherChannel = await connect(unit, `/relay/33?${relayQuery(secret, 'u-child', 34)}`);
    await expectClose(otherChannel, MEDIA_CLOSE.MEDIA_RELAY_REFUSED.closeCode);

    const publisher = await connect(unit, await publishPath(33));
    await until(() => unit.groups.publisherConnected(33), 'publisher');
    const child = await connect(unit, `/relay/33?${relayQuery(secret, 'u-child', 33)}`);
    const frame = video(33, 0, true);
    await until(() => (unit.media.channel(33)?.viewers.size ?? 0) === 1, 'the relay child reads the ring');
    publisher.sendBinary(frame);
    const [got] = await child.waitForMessages(1);
    assert.ok(got!.equals(frame), 'the child gets the ring bytes');
    assert.equal(unit.groups.group(3)!.viewerIds.size, 0, 'a relay link is not a viewer');
    const again = await connect(unit, `/relay/33?${relayQuery(secret, 'u-child', 33)}`);
    await expectClose(child, MEDIA_CLOSE.MEDIA_REPLACED.closeCode);
    again.close();
  });
});

describe('media plane: a viewer that reports being behind', () => {
  it('gets audio only while its reports say it is far behind, then video again from a keyframe', async () => {
    const unit = await startUnit({ unitId: UNIT_ID });
    unit.groups.createGroup(60, 0, 'root');
    const publisher = await connect(unit, await publishPath(60));
    const viewer = await connect(unit, await watchPath(60, 0, 'behind'));
    await until(() => unit.groups.publisherConnected(60) && unit.groups.viewerCount === 1, 'connected');
    const report = (latencyMs: number): void => viewer.sendText(JSON.stringify({ t: 'report', mode: 'tcp', loss: 0, latencyMs }));
    publisher.sendBinary(video(60, 0, true));
    await viewer.waitForMessages(1);
    report(5000);
    await until(() => [...unit.media.channel(60)!.viewers][0]!.videoHold !== null, 'the unit took the report');
    for (const f of [video(60, 1, false), audio(60, 2), video(60, 3, true), audio(60, 4)]) publisher.sendBinary(f);
    await viewer.waitForMessages(3);
    const seqs = (): number[] => viewer.messages.map((m) => peekFrameHeader(m).seq);
    assert.deepEqual(seqs(), [0, 2, 4], 'audio only while behind, even a keyframe is held back');
    report(1000);
    publisher.sendBinary(video(60, 5, false));
    publisher.sendBinary(audio(60, 6));
    await viewer.waitForMessages(4);
    assert.deepEqual(seqs(), [0, 2, 4, 6], 'between the two thresholds it stays behind');
    report(100);
    await until(() => [...unit.media.channel(60)!.viewers][0]!.videoHold === null, 'caught up');
    for (const f of [video(60, 7, false), video(60, 8, true), audio(60, 9)]) publisher.sendBinary(f);
    await viewer.waitForMessages(6);
    assert.deepEqual(seqs(), [0, 2, 4, 6, 8, 9], 'video again from the next keyframe');

    // Behind again right after catching up: it cannot take video, so it stays audio-only for a while
    // even when its next report says it caught up.
    const conn = [...unit.media.channel(60)!.viewers][0]!;
    report(5000);
    await until(() => conn.videoHold !== null, 'behind again');
    assert.ok(conn.behindHoldMs >= 5000, 'held audio-only for at least five seconds');
    report(100);
    publisher.sendBinary(video(60, 10, true));
    publisher.sendBinary(audio(60, 11));
    await viewer.waitForMessages(7);
    assert.deepEqual(seqs().slice(6), [11], 'still audio only within the hold');
    assert.equal(conn.videoHold, 'behind');
  });
});

describe('media plane: a viewer whose link is slower than the channel', () => {
  const audioTimers: NodeJS.Timeout[] = [];
  after(() => audioTimers.forEach(clearInterval));
  /** The unit judges a link over a stretch of the viewer's reports, not at once: let that much time pass. */
  const spellOfAtLeast = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms + 100));

  /**
   * A unit whose channel streams a keyframe, then audio every 20 ms and 2 KB video frames every 40 ms
   * (about 430 kbit/s), so the unit knows the channel's bitrate, and a viewer held to audio is handed
   * far less than that.
   */
  async function steadyChannel(channel: number): Promise<{ unit: StreamingUnit; publisher: TestWs; channelKbps: number; nextSeq: () => number }> {
    const unit = await startUnit({ unitId: UNIT_ID });
    unit.groups.createGroup(channel, 0, 'root');
    const publisher = await connect(unit, await publishPath(channel));
    await until(() => unit.groups.publisherConnected(channel), 'publisher connected');
    let seq = 0;
    publisher.sendBinary(video(channel, seq++, true));
    let tick = 0;
    audioTimers.push(
      setInterval(() => {
        publisher.sendBinary(audio(channel, seq++));
        if (tick++ % 2 === 0) publisher.sendBinary(video(channel, seq++, false, 2000));
      }, 20),
    );
    await until(() => (unit.groups.counters(channel)?.bitrateBps ?? 0) > 0, 'the channel bitrate is known');
    return { unit, publisher, channelKbps: unit.groups.counters(channel)!.bitrateBps / 1000, nextSeq: () => seq++ };
  }

  it('stays on audio after catching up when it drained slower than the channel, for a long hold; a fast one gets video again', async () => {
    const { unit, publisher, channelKbps, nextSeq } = await steadyChannel(62);
    const slow = await connect(unit, await watchPath(62, 0, 'slow-link'));
    const fast = await connect(unit, await watchPath(62, 0, 'fast-link'));
    await until(() => unit.groups.viewerCount === 2, 'connected');
    const conns = new Map([...unit.media.channel(62)!.viewers].map((v) => [v.viewerId, v]));
    const report = (ws: TestWs, latencyMs: number, rxKbps: number): void => ws.sendText(JSON.stringify({ t: 'report', mode: 'tcp', loss: 0, latencyMs, rxKbps }));
    // Both fall behind; a second later, still behind, each reports what it received meanwhile: more
    // than the audio the unit handed it (it was draining older data), so that is what its link carries.
    const links = [
      [slow, channelKbps / 4],
      [fast, channelKbps * 10],
    ] as const;
    for (const [ws, rx] of links) report(ws, 5000, rx);
    await until(() => conns.get('slow-link')!.videoHold !== null && conns.get('fast-link')!.videoHold !== null, 'both behind');
    await spellOfAtLeast(DRAIN_MEASURE_MIN_MS);
    for (const [ws, rx] of links) {
      report(ws, 3000, rx);
      report(ws, 100, rx);
    }
    await until(() => conns.get('fast-link')!.videoHold === null && conns.get('slow-link')!.behindHoldMs > 0, 'the unit took the reports');
    const slowConn = conns.get('slow-link')!;
    assert.equal(slowConn.videoHold, 'slow-link', 'caught up, but its link cannot carry the channel: still audio only');
    assert.ok(slowConn.behindHoldMs >= 60_000, `held for a minute at least (${slowConn.behindHoldMs} ms)`);
    const keyframeSeq = nextSeq();
    publisher.sendBinary(video(62, keyframeSeq, true));
    const marker = nextSeq();
    publisher.sendBinary(audio(62, marker));
    const seqs = async (ws: TestWs): Promise<number[]> => {
      await until(() => ws.messages.some((m) => peekFrameHeader(m).seq === marker), 'the marker frame');
      return ws.messages.map((m) => peekFrameHeader(m).seq);
    };
    assert.ok((await seqs(fast)).includes(keyframeSeq), 'the fast one gets video again from the keyframe');
    assert.ok(!(await seqs(slow)).includes(keyframeSeq), 'the slow one does not');
    // Each is told, on its socket before those frames.
    const notices = (ws: TestWs): unknown[] => ws.texts.map((t) => JSON.parse(t) as { t: string }).filter((m) => m.t === 'video');
    assert.deepEqual(notices(slow), [
      { t: 'video', held: true, reason: 'behind' },
      { t: 'video', held: true, reason: 'slow-link', retryInMs: slowConn.behindHoldMs },
    ]);
    assert.deepEqual(notices(fast), [
      { t: 'video', held: true, reason: 'behind' },
      { t: 'video', held: false },
    ]);
    // Operators see it in /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${unit.port}/metrics`)).text();
    const held = (reason: string): number => Number(new RegExp(`^onair_unit_viewers_video_held\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    assert.equal(held('slow-link'), 1, 'one viewer held for its link');
    assert.equal(held('behind'), 0, 'none catching up');
  });

  it('the web client learns of the hold: videoHold and a video event, cleared when video comes back', async () => {
    const { unit } = await steadyChannel(64);
    let latencyMs = 50;
    const join: JoinResult = { channelId: 64, viewerId: 'web-client', unitId: UNIT_ID, url: `ws://127.0.0.1:${unit.port}`, group: 'g', groupIndex: 0, ticket: await ticket({ role: 'view', channel: 64, unit: UNIT_ID, group: 0, id: 'web-client' }), expiresAt: Date.now() + 60_000, transports: ['tcp'] };
    const client = new Viewer({ api: { join: async () => join }, WebSocket, channelId: 64, reportIntervalMs: 250, latencyMs: () => latencyMs, maxAttempts: 1 });
    const events: (VideoHold | null)[] = [];
    client.events.on('video', (hold) => events.push(hold));
    try {
      await client.start();
      await until(() => client.stats.frames.audio > 5, 'playing');
      latencyMs = 5000;
      await until(() => client.videoHold !== null, 'told of the hold');
      assert.deepEqual(client.videoHold, { reason: 'behind', retryAt: null });
      latencyMs = 50;
      await until(() => client.videoHold === null, 'told video is back');
      assert.deepEqual(events, [{ reason: 'behind', retryAt: null }, null]);
    } finally {
      client.close();
    }
  });

  it('gives no slow-link verdict while its own event loop lagged: the unit may have been the slow part', async () => {
    const { unit, channelKbps } = await steadyChannel(63);
    const viewer = await connect(unit, await watchPath(63, 0, 'busy-unit'));
    await until(() => unit.groups.viewerCount === 1, 'connected');
    const report = (latencyMs: number): void => viewer.sendText(JSON.stringify({ t: 'report', mode: 'tcp', loss: 0, latencyMs, rxKbps: channelKbps / 4 }));
    const conn = [...unit.media.channel(63)!.viewers][0]!;
    report(5000);
    await until(() => conn.videoHold !== null, 'behind');
    await spellOfAtLeast(DRAIN_MEASURE_MIN_MS);
    // This process is the unit's: keep its loop busy for 600 ms, as an overloaded unit's would be.
    const busyUntil = performance.now() + 600;
    while (performance.now() < busyUntil);
    report(3000);
    report(100);
    await until(() => conn.videoHold === null, 'caught up: video again, no verdict on its link');
    assert.ok(conn.unitLagMaxMs >= 100, `the unit saw its own lag (${conn.unitLagMaxMs} ms)`);
  });
});

describe('media plane: relay links', () => {
  it('feeds a chained unit through one relay link, which reconnects after it breaks', async () => {
    const parent = await startUnit({ unitId: 'u-parent' });
    const child = await startUnit({ unitId: 'u-child' });
    const proxy = await startTcpProxy(parent.port);
    try {
      parent.groups.createGroup(50, 0, 'root');
      child.groups.createGroup(50, 0, 'member');
      child.groups.linkRelay(50, { unitId: 'u-parent', address: `ws://127.0.0.1:${proxy.port}` });
      const publisher = await connect(parent, await publishPath(50));
      const viewer = await connect(child, await watchPath(50, 0, 'relayed', 'u-child'));
      const relayChildren = (): number => [...(parent.media.channel(50)?.viewers ?? [])].filter((v) => v.kind === 'relay').length;
      await until(() => parent.groups.publisherConnected(50) && relayChildren() === 1 && child.groups.viewerCount === 1, 'publisher, relay link and viewer');
      const first = [video(50, 0, true), audio(50, 1), video(50, 2, false)];
      for (const f of first) publisher.sendBinary(f);
      const got = await viewer.waitForMessages(3);
      for (let i = 0; i < 3; i++) assert.ok(got[i]!.equals(first[i]!), `relayed frame ${i} is byte-identical`);

      proxy.pointTo(parent.port); // drops the link's TCP connection, as a network fault would
      await until(() => relayChildren() === 0, 'the parent saw the link go');
      await until(() => relayChildren() === 1, 'the child unit linked again', 10_000);
      const after = video(50, 3, true);
      publisher.sendBinary(after);
      const more = await viewer.waitForMessages(4);
      assert.ok(more[3]!.equals(after), 'frames flow again through the new link');
      assert.equal(viewer.closeInfo, null, "the child's viewer kept its socket");
    } finally {
      await proxy.close();
    }
  });
});

describe('media plane: a slow viewer among fast ones', () => {
  it('gives the slow viewer audio only while it is behind, and the fast viewer every frame in order', async () => {
    // A 2 MiB ring: the slow reader goes audio-only 1 MiB behind; the stream is 21 MB of video.
    const unit = await startUnit({}, { capacityBytes: 2 * 1024 * 1024, capacityFrames: 8192 });
    unit.groups.createGroup(40, 0, 'root');
    const publisher = await connect(unit, await publishPath(40));
    const fast = await connect(unit, await watchPath(40, 0, 'fast'));
    const slow = await connect(unit, await watchPath(40, 0, 'slow'));
    await until(() => unit.groups.publisherConnected(40) && unit.groups.viewerCount === 2, 'connected');
    slow.throttle(400_000);
    // About 8 MB/s for 2.5 s (video 30 kB, audio between): the slow viewer reads a twentieth of it.
    const sent: Uint8Array[] = [];
    for (let seq = 0; seq < 1400; seq++) {
      const frame = seq % 2 === 0 ? video(40, seq, seq % 100 === 0, 30_000) : audio(40, seq);
      sent.push(frame);
      publisher.sendBinary(frame);
      if (seq % 20 === 19) {
        await fast.waitForMessages(seq + 1, 20_000);
        await new Promise((resolve) => setTimeout(resolve, 35));
      }
    }
    const got = await fast.waitForMessages(sent.length, 20_000);
    for (let i = 0; i < sent.length; i++) assert.ok(got[i]!.equals(sent[i]!), `fast viewer frame ${i}`);

    slow.resume();
    const last = sent.length - 1;
    await until(() => slow.messages.length > 0 && peekFrameHeader(slow.messages.at(-1)!).seq === last, 'the slow viewer reaches the last frame', 20_000);
    const headers = slow.messages.map((m) => peekFrameHeader(m));
    const seqs = headers.map((h) => h.seq);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, 'in order, never repeated');
    const audioSeqs = new Set(headers.filter((h) => h.kind === FrameKind.AUDIO).map((h) => h.seq));
    const videoSeqs = new Set(headers.filter((h) => h.kind === FrameKind.VIDEO).map((h) => h.seq));
    const missingVideo = sent.map((_, seq) => seq).filter((seq) => seq % 2 === 0 && seq > seqs[0]! && !videoSeqs.has(seq));
    assert.ok(missingVideo.length > 0, 'the slow viewer skipped video');
    // Audio went on while video was skipped: some skipped video frame lies between two audio frames it got.
    assert.ok(missingVideo.some((seq) => audioSeqs.has(seq - 1) && audioSeqs.has(seq + 1)), 'audio continued across the skipped video');
    const counters = unit.groups.counters(40)!;
    assert.ok(counters.videoSkips > 0, 'the skips are counted for the reports');
    assert.equal(counters.drops, 0, 'audio-only kept the slow reader ahead of the writer: never lapped');
  });
});

describe('media plane: limits and configuration', () => {
  it('refuses origins not allowed and too many connections from one IP', async () => {
    const unit = await startUnit({ allowedOrigins: 'http://good.example, http://also.example', maxConnectionsPerIp: 2 });
    unit.groups.createGroup(20, 0, 'root');
    const evil = await connect(unit, await watchPath(20, 0, 'o1'), { Origin: 'http://evil.example' });
    await expectClose(evil, MEDIA_CLOSE.MEDIA_ORIGIN_REFUSED.closeCode);
    const a = await connect(unit, await watchPath(20, 0, 'o2'), { Origin: 'http://good.example' });
    const b = await connect(unit, await watchPath(20, 0, 'o3'));
    await until(() => unit.groups.viewerCount === 2, 'two joined');
    const c = await connect(unit, await watchPath(20, 0, 'o4'));
    await expectClose(c, MEDIA_CLOSE.MEDIA_TOO_MANY_CONNECTIONS.closeCode);
    a.close();
    await until(() => unit.media.connectionsFrom('127.0.0.1') === 1, 'slot released');
    const d = await connect(unit, await watchPath(20, 0, 'o5'));
    await until(() => unit.groups.viewerCount === 2, 'a new one fits again');
    b.close();
    d.close();
  });

  it('without a ticket key, every media connection is refused with MEDIA_DISABLED', async () => {
    const unit = await startUnit({ ticketPublicJwk: '' });
    unit.groups.createGroup(21, 0, 'root');
    const p = await connect(unit, await publishPath(21));
    await expectClose(p, MEDIA_CLOSE.MEDIA_DISABLED.closeCode);
  });

  it('declares every media close code once, clear of the ticket block', () => {
    const codes = Object.values(MEDIA_CLOSE).map((s) => s.closeCode);
    const ticketCodes = new Set<number>(Object.values(TICKET_ERRORS).map((s) => s.closeCode));
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) {
      assert.ok(code >= 4000 && code <= 4999 && !ticketCodes.has(code), String(code));
    }
    for (const spec of Object.values(MEDIA_CLOSE)) assert.ok(Buffer.byteLength(spec.message) <= 123, spec.message);
  });
});

describe('media plane: write merging (fanoutBatchMs)', () => {
  /** A unit with this budget, a publisher and one viewer on `channel`, and audio frames stamped 90 ms apart (a 90 ms rhythm). */
  async function audioRhythm(fanoutBatchMs: number, channel: number, count: number): Promise<{ publisher: TestWs; viewer: TestWs; frames: Uint8Array[] }> {
    const unit = await startUnit({ fanoutBatchMs });
    unit.groups.createGroup(channel, 0, 'root');
    const publisher = await connect(unit, await publishPath(channel));
    await until(() => unit.groups.publisherConnected(channel), 'publisher connected');
    const viewer = await connect(unit, await watchPath(channel, 0, `rhythm-${channel}`));
    await until(() => unit.groups.viewerCount === 1, 'viewer joined');
    const frames = Array.from({ length: count }, (_, i) =>
      encodeFrame({ channel, seq: i, timestamp: i * 90_000, kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: new Uint8Array(60).fill(i) }),
    );
    return { publisher, viewer, frames };
  }

  it('holds a frame for the one due next by the channel rhythm, in order, and sends it when that one does not come', async () => {
    // Sent at once: the first goes out at once (no rhythm known yet); from the second on the unit
    // expects the next within its 100 ms budget and holds the batch for it, until about 92 ms after
    // the last one, when none has come.
    const { publisher, viewer, frames } = await audioRhythm(100, 22, 5);
    for (const frame of frames) publisher.sendBinary(frame);
    await viewer.waitForMessages(1);
    const firstAt = performance.now();
    const received = await viewer.waitForMessages(frames.length);
    const heldMs = performance.now() - firstAt;
    assert.ok(heldMs >= 40, `the later frames were held for the one due next (${heldMs.toFixed(1)} ms after the first)`);
    assert.equal(received.length, frames.length, 'nothing more came, yet the held batch went out');
    frames.forEach((frame, i) => assert.ok(received[i]!.equals(frame), `frame ${i} in order, byte for byte`));
  });

  it('sends every frame at once with a budget of 0', async () => {
    const { publisher, viewer, frames } = await audioRhythm(0, 23, 4);
    const sentAt = performance.now();
    for (const frame of frames) publisher.sendBinary(frame);
    await viewer.waitForMessages(frames.length);
    const waitedMs = performance.now() - sentAt;
    assert.ok(waitedMs < 90, `no frame waits for a partner (${waitedMs.toFixed(1)} ms)`);
  });
});

