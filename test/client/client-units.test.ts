/** The client's pure parts: the close-code rule, backoff bounds, CsmApi's bounded retry of 503s, the viewer's report. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../protocol/backoff.js';
import { CsmApi } from '../../web/client/CsmApi.js';
import { CsmApiError } from '../../web/client/errors.js';
import { closeVerdict } from '../../web/client/socket.js';
import { DelayTracker } from '../../web/client/DelayTracker.js';
import { ViewerTransport } from '../../web/client/ViewerTransport.js';
import { Codec, FrameKind } from '../../protocol/media-frame.js';
import type { ClientMessage } from '../../protocol/media-messages.js';

describe('web client pure parts', () => {
  it('rejoins on 4420, 4401 and lost connections; stops on other ticket codes and non-rejoin media codes', () => {
    for (const code of [4420, 4401, 4409, 4424, 1006, 1001]) assert.equal(closeVerdict(code), 'rejoin', String(code));
    for (const code of [4400, 4403, 4407, 4408, 4414, 4410, 4423]) assert.equal(closeVerdict(code), 'final', String(code));
  });

  it('keeps backoff within half and all of min·2^n, capped', () => {
    assert.equal(backoffDelay(0, { minMs: 100, maxMs: 1000 }, () => 0), 100);
    assert.equal(backoffDelay(2, { minMs: 100, maxMs: 1000 }, () => 1), 400);
    assert.equal(backoffDelay(50, { minMs: 100, maxMs: 1000 }, () => 1), 1000);
  });

  it('retries a 503 a bounded number of times and keeps the CSM error body', async () => {
    let calls = 0;
    const body = { code: 'CSM_ERR_NO_CAPACITY', message: 'no healthy unit has a free group', retryable: true };
    const api = new CsmApi({
      baseUrl: 'http://csm.invalid/',
      retries: 2,
      retryMinMs: 1,
      retryMaxMs: 5,
      fetch: async (url) => {
        calls++;
        assert.equal(String(url), 'http://csm.invalid/api/v1/channels/7/join');
        return new Response(JSON.stringify(body), { status: 503, headers: { 'content-type': 'application/json' } });
      },
    });
    await assert.rejects(api.join(7), (error: unknown) => error instanceof CsmApiError && error.code === body.code && error.status === 503 && error.retryable);
    assert.equal(calls, 3);
  });

  it('does not retry a non-retryable answer, and succeeds after a 503', async () => {
    const answers = [
      new Response(JSON.stringify({ code: 'CSM_ERR_NOT_ACTIVE', message: 'x', retryable: true }), { status: 503 }),
      new Response(JSON.stringify({ channelId: 7, unitId: 'u', url: 'ws://u', group: 'g', ticket: 't', expiresAt: 1 }), { status: 200 }),
      new Response(JSON.stringify({ code: 'CSM_ERR_BAD_PUBLISHER_KEY', message: 'no', retryable: false }), { status: 403 }),
    ];
    const api = new CsmApi({ baseUrl: 'http://csm.invalid', retryMinMs: 1, retryMaxMs: 5, fetch: async () => answers.shift()! });
    assert.equal((await api.resumePublisher(7, 'k')).unitId, 'u');
    await assert.rejects(api.endChannel(7, 'k'), (error: unknown) => error instanceof CsmApiError && error.code === 'CSM_ERR_BAD_PUBLISHER_KEY' && error.status === 403);
    assert.equal(answers.length, 0);
  });
});

describe('DelayTracker', () => {
  it('measures each frame against the fastest one and restarts when the timestamps jump', () => {
    const t = new DelayTracker();
    assert.deepEqual(t.stats(), { lastMs: null, p50Ms: null, p95Ms: null, samples: 0 });
    // 100 frames 33 ms apart, arriving 40 ms after capture on the broadcaster's clock, one 15 ms late.
    for (let i = 0; i < 100; i++) t.add(1_000_000 + i * 33 + 40 + (i === 50 ? 15 : 0), (5_000 + i * 33) * 1000);
    const s = t.stats();
    assert.equal(s.samples, 100);
    assert.equal(s.p50Ms, 0);
    assert.equal(t.add(1_000_000 + 100 * 33 + 40 + 250, (5_000 + 100 * 33) * 1000), 250, 'a frame 250 ms behind the best case');
    // A new publisher session: timestamps start over near 0; the old baseline does not apply.
    assert.equal(t.add(1_010_000, 1_000), 0);
    assert.equal(t.stats().samples, 1);
  });
});

describe('ViewerTransport reports', () => {
  it('tell the unit what the viewer received over each interval (rxKbps), besides loss and latency', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    let clock = 0;
    const sent: ClientMessage[] = [];
    const transport = new ViewerTransport(
      { udp: null, reportIntervalMs: 2000, now: () => clock, latencyMs: () => 120 },
      { deliver: () => {}, modeChanged: () => {}, error: (error) => assert.fail(error) },
    );
    transport.socketOpened((message) => sent.push(message), false);
    const frame = (seq: number) => ({ channel: 1, seq, timestamp: seq * 20_000, kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: new Uint8Array(0) });
    for (let seq = 0; seq < 60; seq++) transport.tcpFrame(frame(seq), 5000);
    clock = 2000;
    t.mock.timers.tick(250);
    // 60 frames of 5,000 bytes in 2 s: 1,200 kbit/s
    assert.deepEqual(sent, [{ t: 'report', mode: 'tcp', loss: 0, latencyMs: 120, rxKbps: 1200 }]);
    for (let seq = 61; seq < 71; seq++) transport.tcpFrame(frame(seq), 1000);
    clock = 6000;
    t.mock.timers.tick(250);
    // 10 frames of 1,000 bytes in the next 4 s, one frame (seq 60) missing of 11
    assert.deepEqual(sent[1], { t: 'report', mode: 'tcp', loss: 1 / 11, latencyMs: 120, rxKbps: 20 });
    transport.close();
  });
});

describe('ViewerTransport carrier', () => {
  /** A peer connection that only records that it was made: udp-start is what is checked. */
  class InertPeerConnection {
    connectionState = 'new';
    ondatachannel = null;
    ontrack = null;
    onicecandidate = null;
    onconnectionstatechange = null;
    async setRemoteDescription(): Promise<void> {}
    async createAnswer(): Promise<{ type: string; sdp: string }> {
      return { type: 'answer', sdp: '' };
    }
    async setLocalDescription(): Promise<void> {}
    async addIceCandidate(): Promise<void> {}
    close(): void {}
  }

  it('asks for rtp only where the join lists it among the unit\'s carriers, else for the bare data channel', () => {
    const starts: ClientMessage[] = [];
    const transport = new ViewerTransport(
      { udp: { RTCPeerConnection: InertPeerConnection, carrier: 'rtp' }, reportIntervalMs: 0, now: () => 0 },
      { deliver: () => {}, modeChanged: () => {}, error: (error) => assert.fail(error) },
    );
    const open = (carriers?: ('datachannel' | 'rtp')[]): void => transport.socketOpened((message) => message.t === 'udp-start' && starts.push(message), true, carriers);
    open(['datachannel', 'rtp']);
    assert.equal(transport.carrier, 'rtp');
    // A unit of before carriers (its CSM's join names none, or only the data channel) would refuse the field.
    open(['datachannel']);
    assert.equal(transport.carrier, 'datachannel');
    open(undefined);
    assert.equal(transport.carrier, 'datachannel');
    open(['rtp', 'datachannel']);
    assert.deepEqual(starts, [{ t: 'udp-start', carrier: 'rtp' }, { t: 'udp-start' }, { t: 'udp-start' }, { t: 'udp-start', carrier: 'rtp' }]);
    transport.close();
  });
});

