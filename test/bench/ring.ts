/**
 * `runRingBench`: one channel's ring buffer fanning out to 1,000 readers (a full unit's TCP viewers
 * of one channel), against a baseline in the same run that copies every frame into a fresh Buffer per
 * reader (a per-viewer queue). The stream is a 2 Mbit/s, 30 fps broadcast: a ~60 KB keyframe every
 * 2 s, ~8 KB delta frames, and 50 audio frames/s of ~160 bytes, encoded once with encodeFrame.
 *
 * Phases, each bounded in frames (`--seconds` of stream) and in time (`--max-ms`):
 * 1. writes: the stream written over and over with no reader: writes/s of the ring alone;
 * 2. fan-out: after each write every reader drains (`while (reader.next())`): reads/s, counting only
 *    the time spent reading, and deliveries/s for write + reads;
 * 3. baseline: after each write every reader gets `Buffer.from(frame)` in its queue and drains it.
 * Prints one JSON line on stdout; `ratio` is fan-out deliveries/s ÷ baseline deliveries/s.
 */
import { parseArgs } from 'node:util';
import { Codec, FrameKind, encodeFrame, peekFrameHeader, type FrameHeader } from '../../protocol/media-frame.js';
import { RingBuffer } from '../../streaming-unit/media/RingBuffer.js';
import { seededRandom } from './random.js';

const log = (message: string): void => void process.stderr.write(`[bench ring] ${message}\n`);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

interface StreamFrame {
  bytes: Uint8Array;
  header: FrameHeader;
}

/** `seconds` of the stream, in timestamp order, each frame encoded once. */
function buildStream(seconds: number, random: () => number): StreamFrame[] {
  const frames: { t: number; kind: FrameKind; keyframe: boolean; size: number }[] = [];
  const jitter = (mean: number, spread: number) => Math.max(1, Math.round(mean * (1 + spread * (2 * random() - 1))));
  for (let i = 0; i < seconds * 30; i++) {
    const keyframe = i % 60 === 0;
    frames.push({ t: Math.round((i * 1e6) / 30), kind: FrameKind.VIDEO, keyframe, size: keyframe ? jitter(60_000, 0.1) : jitter(8_000, 0.25) });
  }
  for (let i = 0; i < seconds * 50; i++) frames.push({ t: i * 20_000, kind: FrameKind.AUDIO, keyframe: false, size: jitter(160, 0.2) });
  frames.sort((a, b) => a.t - b.t || a.kind - b.kind);
  return frames.map((f, seq) => {
    const bytes = encodeFrame({
      channel: 1, seq, timestamp: f.t, kind: f.kind, keyframe: f.keyframe,
      codec: f.kind === FrameKind.VIDEO ? Codec.VP8 : Codec.OPUS, payload: Buffer.alloc(f.size, seq & 0xff),
    });
    return { bytes, header: peekFrameHeader(bytes) };
  });
}

export async function runRingBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      readers: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '20' },
      'max-ms': { type: 'string', default: '15000' },
      'capacity-mb': { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const readerCount = Number(values.readers);
  const seconds = Number(values.seconds);
  const maxMs = Number(values['max-ms']);
  const capacityBytes = Number(values['capacity-mb']) * 1024 * 1024;
  const stream = buildStream(seconds, seededRandom(Number(values.seed)));
  const streamBytes = stream.reduce((sum, f) => sum + f.bytes.length, 0);
  log(`${stream.length} frames, ${(streamBytes / 1e6).toFixed(1)} MB (${((streamBytes * 8) / seconds / 1e6).toFixed(2)} Mbit/s), ${readerCount} readers`);

  // 1. Writes alone: the stream, repeated, bounded by count and time.
  const writeRing = new RingBuffer({ capacityBytes });
  let writes = 0;
  const writeStarted = now();
  for (let pass = 0; pass < 20 && now() - writeStarted < maxMs / 4; pass++) {
    for (const f of stream) writeRing.write(f.bytes, f.header);
    writes += stream.length;
  }
  const writesPerSec = writes / ((now() - writeStarted) / 1000);
  writeRing.close();
  log(`writes: ${Math.round(writesPerSec)}/s`);

  // 2. Fan-out from the ring: every reader drains after every write.
  const ring = new RingBuffer({ capacityBytes });
  const readers = Array.from({ length: readerCount }, () => ring.createReader());
  let reads = 0;
  let readBytes = 0;
  let readMs = 0;
  let ringFrames = 0;
  const fanStarted = now();
  for (const f of stream) {
    if (now() - fanStarted > maxMs) break;
    ring.write(f.bytes, f.header);
    const t0 = now();
    for (const reader of readers) {
      let view: Buffer | null;
      while ((view = reader.next())) {
        reads++;
        readBytes += view.length; // stands for socket.write(view): the view is used before the next write
      }
    }
    readMs += now() - t0;
    ringFrames++;
  }
  const fanMs = now() - fanStarted;
  const skipped = readers.reduce((sum, r) => sum + r.stats().videoSkipped + r.stats().drops, 0);
  const missed = ringFrames * readerCount - reads;
  ring.close();
  log(`fan-out: ${ringFrames} frames, ${reads} reads in ${fanMs.toFixed(0)} ms (reading ${readMs.toFixed(0)} ms)`);

  // 3. Baseline: a fresh copy of every frame for every reader, queued and drained.
  const queues: Buffer[][] = Array.from({ length: readerCount }, () => []);
  let deliveries = 0;
  let copiedBytes = 0;
  let baseFrames = 0;
  const baseStarted = now();
  for (const f of stream) {
    if (now() - baseStarted > maxMs) break;
    for (const queue of queues) queue.push(Buffer.from(f.bytes));
    for (const queue of queues) {
      let copy: Buffer | undefined;
      while ((copy = queue.shift())) {
        deliveries++;
        copiedBytes += copy.length;
      }
    }
    baseFrames++;
  }
  const baseMs = now() - baseStarted;
  log(`baseline: ${baseFrames} frames, ${deliveries} deliveries in ${baseMs.toFixed(0)} ms`);

  const ringDeliveriesPerSec = reads / (fanMs / 1000);
  const baseDeliveriesPerSec = deliveries / (baseMs / 1000);
  const result = {
    bench: 'ring',
    readers: readerCount,
    stream: { seconds, frames: stream.length, mbitPerSec: Number(((streamBytes * 8) / seconds / 1e6).toFixed(2)), fps: 30, audioPerSec: 50 },
    ringCapacityBytes: capacityBytes,
    writesPerSec: Math.round(writesPerSec),
    readsPerSec: Math.round(reads / (readMs / 1000)),
    readMBytesPerSec: Math.round(readBytes / 1e6 / (readMs / 1000)),
    deliveriesPerSec: Math.round(ringDeliveriesPerSec),
    framesFannedOut: ringFrames,
    missedReads: missed,
    skippedOrDropped: skipped,
    baseline: {
      kind: 'Buffer.from(frame) per reader, queued and drained',
      framesFannedOut: baseFrames,
      deliveriesPerSec: Math.round(baseDeliveriesPerSec),
      copyMBytesPerSec: Math.round(copiedBytes / 1e6 / (baseMs / 1000)),
    },
    ratio: Number((ringDeliveriesPerSec / baseDeliveriesPerSec).toFixed(2)),
    ok: missed === 0 && skipped === 0,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
