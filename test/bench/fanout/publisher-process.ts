/**
 * The bench's broadcaster, a child process of its own (forked by publisher.ts) so that its 30 fps
 * clock is not delayed by the bench's bookkeeping. It replays the stream plan (stream.ts) in real
 * time, stamping each payload with its send time just before the frame is encoded and sent:
 * - `onair`: the real client, web/client/Publisher.ts over the `ws` package, which opens the channel
 *   through the CSM's service API and publishes to the root unit with its ticket;
 * - `direct`: a plain `ws` socket to the naive baseline server, the same bytes (encodeFrame) and send call.
 * Bounded by `maxSeconds`; the parent stops it earlier with `stop`.
 */
import WebSocket from 'ws';
import { Codec, encodeFrame, FrameKind, type Frame } from '../../../protocol/media-frame.js';
import { CsmApi } from '../../../web/client/CsmApi.js';
import { Publisher } from '../../../web/client/Publisher.js';
import { loadVideoFixture } from './fixture.js';
import { planStream, wallNowMs, writeStamp } from './stream.js';
import type { PublisherCommand, PublisherReply } from './publisher.js';

const reply = (message: PublisherReply): void => void process.send?.(message);
const log = (message: string): void => void process.stderr.write(`[bench fanout publisher] ${message}\n`);

interface Sink {
  channelId: number;
  send(frame: Frame): boolean;
  close(): void;
}

async function openOnair(csmUrl: string): Promise<Sink> {
  const api = new CsmApi({ baseUrl: csmUrl });
  const publisher = await Publisher.open({ api, WebSocket, maxAttempts: 3 }, { title: 'fanout bench', broadcaster: 'bench' });
  let keyframeRequests = 0;
  publisher.events.on('keyframeRequested', () => void keyframeRequests++);
  publisher.events.on('error', (error) => log(`publisher: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('publisher not connected after 10 s')), 10_000);
    publisher.events.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    publisher.events.once('closed', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`publisher closed ${code} ${reason}`));
    });
  });
  return {
    channelId: publisher.channelId,
    send: (frame) => publisher.send(frame),
    close: () => {
      if (keyframeRequests > 0) log(`${keyframeRequests} keyframe requests from viewers (the replay keeps the fixture's 2 s cadence)`);
      publisher.close();
    },
  };
}

async function openDirect(url: string, channelId: number): Promise<Sink> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    channelId,
    send: (frame) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(encodeFrame(frame));
      return true;
    },
    close: () => ws.close(),
  };
}

async function run(command: Extract<PublisherCommand, { type: 'start' }>): Promise<void> {
  const fixture = loadVideoFixture(command.fixture);
  const plan = planStream(fixture, command.bitrateMbps);
  const sink = command.target.kind === 'onair' ? await openOnair(command.target.csmUrl) : await openDirect(command.target.url, command.target.channelId);
  const scratch = Buffer.alloc(plan.maxFrameBytes);
  const { events, cycleMs } = plan;
  const started = performance.now();
  const deadline = started + command.maxSeconds * 1000;
  let index = 0;
  let cycle = 0;
  let seq = 0;
  let sent = 0;
  let bytes = 0;
  let maxLateMs = 0;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    sink.close();
    reply({ type: 'stopped', framesSent: sent, bytesSent: bytes, maxLateMs });
    // Let the IPC message leave, then go; the parent also kills by PID if this hangs.
    setTimeout(() => process.exit(0), 100).unref();
  };

  // Sends every frame that is due, then sleeps until the next one: the schedule is absolute, so a
  // late timer is caught up rather than drifting.
  const tick = (): void => {
    timer = null;
    const now = performance.now();
    if (now > deadline) return stop();
    for (let guard = 0; guard < 10_000; guard++) {
      const event = events[index]!;
      const dueAt = started + cycle * cycleMs + event.atMs;
      if (dueAt > now) {
        timer = setTimeout(tick, dueAt - now);
        return;
      }
      maxLateMs = Math.max(maxLateMs, now - dueAt);
      const payload = scratch.subarray(0, event.size);
      writeStamp(payload, wallNowMs());
      const frame: Frame = {
        channel: sink.channelId,
        seq: seq >>> 0,
        timestamp: Math.round((cycle * cycleMs + event.atMs) * 1000),
        kind: event.kind,
        keyframe: event.keyframe,
        codec: event.kind === FrameKind.VIDEO ? Codec.VP8 : Codec.OPUS,
        payload,
      };
      if (sink.send(frame)) {
        sent++;
        bytes += event.size;
      }
      seq++;
      index++;
      if (index === events.length) {
        index = 0;
        cycle++;
      }
    }
    timer = setTimeout(tick, 1);
  };

  process.on('message', (message: PublisherCommand) => {
    if (message.type === 'stop') stop();
  });
  reply({ type: 'ready', channelId: sink.channelId, source: fixture.source, meanMbps: plan.meanMbps, videoScale: plan.videoScale });
  tick();
}

process.once('message', (message: PublisherCommand) => {
  if (message.type !== 'start') return;
  run(message).catch((error: unknown) => {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    setTimeout(() => process.exit(1), 100).unref();
  });
});
process.once('disconnect', () => process.exit(0));
