/**
 * UDP signalling that goes wrong, and the unit's bounds. A bad udp-* message closes that viewer with
 * MEDIA_BAD_MESSAGE (the UDP_ERR_* code as the reason) and nothing else: a UDP viewer of the same
 * channel keeps its data channel and its frames throughout. Over `udpMaxSessions` a viewer stays on
 * TCP; a viewer that leaves, and a unit that closes, close their peer connections. Every data
 * channel of a unit goes through its one UDP port (`udpPort`, ICE UDP mux).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import type { RtcPeerConnectionConstructor, RtcPeerConnectionLike } from '../../web/client/rtc.js';
import { until } from './checks.js';
import { RawViewer } from './raw-viewer.js';
import { MEDIA_CLOSE } from '../../protocol/media-close-codes.js';
import { nextMode, record, startHarness, withHarness, type Harness } from './udp-harness.js';
import { freeUdpPortNear } from '../../streaming-unit/media/udp/udp-options.js';
import { freePortBlock } from '../support/free-port.js';

/** A real answer to the unit's offer, from node-datachannel's browser-style peer connection. */
async function realAnswer(offer: string): Promise<{ sdp: string; pc: RtcPeerConnectionLike }> {
  const PeerConnection: RtcPeerConnectionConstructor = RTCPeerConnection;
  const pc = new PeerConnection({ iceServers: [], bindAddress: '127.0.0.1' });
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  return { sdp: answer.sdp!, pc };
}

/**
 * The describe block's unit, streaming `channel` before its tests, and the raw viewers and answering
 * peer connections they open: all closed after them.
 */
function streamingUnit(channel: number, use: (harness: Harness) => void, overrides: Parameters<typeof withHarness>[1] = {}): { raws: RawViewer[]; pcs: { close(): void }[] } {
  const opened = { raws: [] as RawViewer[], pcs: [] as { close(): void }[] };
  after(() => {
    for (const r of opened.raws) r.close();
    for (const pc of opened.pcs) pc.close();
  });
  withHarness(async (harness) => {
    use(harness);
    harness.unit.groups.createGroup(channel, 0, 'root');
    await harness.publisher(channel, 10);
  }, overrides);
  return opened;
}

describe('UDP signalling: bad input closes only that viewer', () => {
  let h: Harness;
  const { raws, pcs } = streamingUnit(51, (started) => (h = started));
  const raw = async (id: string): Promise<RawViewer> => {
    const r = await RawViewer.open(h, 51, 0, id);
    raws.push(r);
    return r;
  };


  it('refuses bad udp-* messages with MEDIA_BAD_MESSAGE while a UDP viewer keeps streaming', { timeout: 20_000 }, async () => {
    const good = h.viewer(51, 0, 'good');
    const frames = record(good);
    const drops: string[] = [];
    good.events.on('disconnected', (code, reason) => drops.push(`${code} ${reason}`));
    await good.start();
    await nextMode(good, 'udp');
    const framesBefore = frames.length;

    // An answer, or a candidate, from a viewer that never asked for UDP.
    const answerFirst = await raw('answer-first');
    answerFirst.send({ t: 'udp-answer', sdp: 'v=0' });
    await answerFirst.expectRefused('UDP_ERR_NO_SESSION');
    const candidateFirst = await raw('candidate-first');
    candidateFirst.send({ t: 'udp-candidate', candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' });
    await candidateFirst.expectRefused('UDP_ERR_NO_SESSION');

    // Garbage instead of an SDP answer.
    const garbage = await raw('garbage-answer');
    garbage.send({ t: 'udp-start' });
    await garbage.next('udp-offer');
    garbage.send({ t: 'udp-answer', sdp: 'this is not SDP' });
    await garbage.expectRefused('UDP_ERR_BAD_ANSWER');

    // A candidate before the answer.
    const early = await raw('early-candidate');
    early.send({ t: 'udp-start' });
    await early.next('udp-offer');
    early.send({ t: 'udp-candidate', candidate: 'candidate:1 1 UDP 2122317823 127.0.0.1 9 typ host', mid: '0' });
    await early.expectRefused('UDP_ERR_CANDIDATE_BEFORE_ANSWER');

    // A real answer, then a malformed candidate.
    const badCandidate = await raw('bad-candidate');
    badCandidate.send({ t: 'udp-start' });
    const offer = await badCandidate.next('udp-offer');
    const answer = await realAnswer(offer.sdp);
    pcs.push(answer.pc);
    badCandidate.send({ t: 'udp-answer', sdp: answer.sdp });
    badCandidate.send({ t: 'udp-candidate', candidate: 'candidate:garbage', mid: '0' });
    await badCandidate.expectRefused('UDP_ERR_BAD_CANDIDATE');

    // The same answer twice.
    const twice = await raw('answer-twice');
    twice.send({ t: 'udp-start' });
    const offer2 = await twice.next('udp-offer');
    const answer2 = await realAnswer(offer2.sdp);
    pcs.push(answer2.pc);
    twice.send({ t: 'udp-answer', sdp: answer2.sdp });
    twice.send({ t: 'udp-answer', sdp: answer2.sdp });
    await twice.expectRefused('UDP_ERR_ANSWER_TWICE');

    // A udp-answer without its sdp is not a message at all: the parser refuses it.
    const malformed = await raw('malformed');
    malformed.send({ t: 'udp-answer' });
    const info = await malformed.closed;
    assert.equal(info.code, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode);

    await until(() => h.unit.media.udp.sessionCount === 1, 'only the good viewer’s session left');
    assert.equal(h.unit.media.udp.counters.badSignalling, 6);
    await until(() => frames.length >= framesBefore + 100, 'the good viewer still receives');
    assert.deepEqual(drops, []);
    assert.equal(good.mode, 'udp');
    assert.equal(good.stats.udp.fallbacks.unit + good.stats.udp.fallbacks.closed, 0);
    assert.equal((await fetch(`http://127.0.0.1:${h.unit.port}/healthz`)).status, 200);
    good.close();
  });

  it('answers udp-stop without a session with mode tcp and keeps the viewer', { timeout: 10_000 }, async () => {
    const viewer = await raw('stop-only');
    viewer.send({ t: 'udp-stop' });
    const mode = await viewer.next('mode');
    assert.equal(mode.mode, 'tcp');
    assert.equal(viewer.ws.readyState, WebSocket.OPEN);
  });

  it('starts at most a burst of peer connections for a viewer looping udp-start, and keeps it on TCP', { timeout: 10_000 }, async () => {
    const viewer = await raw('start-loop');
    const started = h.unit.media.udp.counters.started;
    const refused = h.unit.media.udp.counters.refusedTooOften;
    for (let i = 0; i < 20; i++) viewer.send({ t: 'udp-start' });
    await until(() => h.unit.media.udp.counters.refusedTooOften - refused === 15, 'fifteen starts ignored');
    assert.equal(h.unit.media.udp.counters.started - started, 5, 'five peer connections, the rest refused');
    assert.ok(h.unit.media.udp.sessionCount <= 1, 'each start replaced the one before');
    assert.equal(viewer.ws.readyState, WebSocket.OPEN);
    viewer.close();
    await until(() => h.unit.media.udp.session('start-loop') === null, 'its session closed with it');
  });
});

describe('UDP sessions: bounds and teardown', () => {
  let h: Harness;
  streamingUnit(52, (started) => (h = started), { udpMaxSessions: 1 });

  it('keeps a viewer over udpMaxSessions on TCP, gives it UDP once a session is free, and closes every peer connection with the unit', { timeout: 20_000 }, async () => {
    const first = h.viewer(52, 0, 'bound-1');
    await first.start();
    await nextMode(first, 'udp');
    const second = h.viewer(52, 0, 'bound-2');
    const frames = record(second);
    await second.start();
    await until(() => second.stats.udp.fallbacks.refused === 1, 'the second viewer refused UDP');
    assert.equal(second.mode, 'tcp');
    assert.equal(h.unit.media.udp.counters.refusedFull, 1);
    const count = frames.length;
    await until(() => frames.length >= count + 50, 'frames over TCP for the refused viewer');

    first.close();
    await until(() => h.unit.media.udp.sessionCount === 0, 'the leaving viewer’s peer connection closed');
    second.tryUdp();
    await nextMode(second, 'udp');
    assert.equal(h.unit.media.udp.sessionCount, 1);

    const backToTcp = nextMode(second, 'tcp');
    h.unit.close();
    assert.equal(h.unit.media.udp.sessionCount, 0, 'the unit closed every peer connection');
    await backToTcp;
    second.close();
  });
});

/** A UDP port nobody holds right now on 127.0.0.1 (the unit's own helper, asked for any port). */
const freeUdpPort = async (): Promise<number> => (await freeUdpPortNear(0, '127.0.0.1')).port;

/** The ports of the host candidates in an SDP or in one candidate line. */
const candidatePorts = (text: string): number[] => [...text.matchAll(/candidate:\S+ \d+ UDP \d+ \S+ (\d+) typ/gi)].map((m) => Number(m[1]));

describe('UDP sessions: one port per unit', () => {
  let h: Harness;
  let port: number;
  const { raws, pcs } = streamingUnit(53, (started) => (h = started), async () => ({ udpPort: (port = await freeUdpPort()) }));

  it('offers every viewer the unit\'s udpPort and opens their data channels side by side on it', { timeout: 20_000 }, async () => {
    assert.equal(h.unit.media.udp.port, port);
    const offered: number[] = [];
    for (const id of ['mux-1', 'mux-2', 'mux-3']) {
      const viewer = await RawViewer.open(h, 53, 0, id);
      raws.push(viewer);
      viewer.send({ t: 'udp-start' });
      const offer = await viewer.next('udp-offer');
      const answer = await realAnswer(offer.sdp);
      pcs.push(answer.pc);
      viewer.send({ t: 'udp-answer', sdp: answer.sdp });
      answer.pc.onicecandidate = (event) => {
        if (event.candidate?.candidate) viewer.send({ t: 'udp-candidate', candidate: event.candidate.candidate, mid: event.candidate.sdpMid ?? '0' });
      };
      await until(() => viewer.messages.some((m) => m.t === 'mode' && m.mode === 'udp'), `${id} on the data channel`, 10_000);
      offered.push(...candidatePorts(offer.sdp));
      for (const m of viewer.messages) if (m.t === 'udp-candidate') offered.push(...candidatePorts(m.candidate));
    }
    assert.ok(offered.length >= 3, `host candidates offered: ${offered.join(', ')}`);
    assert.deepEqual([...new Set(offered)], [port], 'every candidate of every session is on the one port');
    assert.equal(h.unit.media.udp.sessionCount, 3);
  });
});

describe('UDP sessions: the media port number taken on UDP', () => {
  let h: Harness | null = null;
  let held: UdpSocket | null = null;
  after(async () => {
    await h?.shutdown();
    held?.close();
  });

  it('picks another UDP port, and viewers still reach the data channel', { timeout: 20_000 }, async () => {
    // A port number free on TCP, below the ephemeral range (where other tests' connections take
    // their local ports while this one runs), whose UDP twin this test holds.
    let port = 0;
    for (let attempt = 0; attempt < 20 && port === 0; attempt++) {
      const candidate = await freePortBlock([0]);
      const socket = createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(candidate, '127.0.0.1', () => resolve(true));
      });
      if (!bound) continue;
      held = socket;
      port = candidate;
    }
    assert.ok(port > 0, 'found a port to hold');
    h = await startHarness({ port });
    assert.equal(h.unit.port, port);
    assert.ok(h.unit.media.udp.port > 0 && h.unit.media.udp.port !== port, `UDP on ${h.unit.media.udp.port}, not the held ${port}`);
    h.unit.groups.createGroup(54, 0, 'root');
    await h.publisher(54, 10);
    const viewer = h.viewer(54, 0, 'moved-port');
    await viewer.start();
    await nextMode(viewer, 'udp');
    viewer.close();
  });
});
