/** RingBuffer through its public API: options, errors, layout in the slab, and each reader rule on a hand-made stream. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Codec, FrameKind, encodeFrame, peekFrameHeader, type Frame } from '../../protocol/media-frame.js';
import { RingError, type RingErrorCode } from '../../streaming-unit/media/errors.js';
import { RingBuffer, type RingReader } from '../../streaming-unit/media/RingBuffer.js';

const CODEC = { [FrameKind.VIDEO]: Codec.VP8, [FrameKind.AUDIO]: Codec.OPUS, [FrameKind.TEXT]: Codec.TEXT_UTF8 } as const;

/**
 * Frame number `seq` of a stream: payload bytes all equal seq & 0xff (text: 'a'), so a torn frame
 * shows. With seq < 128 the encoding is 17 bytes + payload for video, 18 for audio, 23 for text.
 */
function frame(seq: number, kind: FrameKind, keyframe = false, payloadBytes = 20): { bytes: Uint8Array; frame: Frame } {
  const f: Frame = { channel: 1, seq, timestamp: 1_000_000 + seq * 1000, kind, keyframe, codec: CODEC[kind], payload: Buffer.alloc(payloadBytes, kind === FrameKind.TEXT ? 0x61 : seq & 0xff) };
  return { bytes: encodeFrame(f), frame: f };
}

/** Writes frames described as 'K' (video keyframe), 'v' (video delta), 'a' (audio), 't' (text); seq continues from `from`. */
function writeStream(ring: RingBuffer, pattern: string, from = 0, payloadBytes = 20): number {
  let seq = from;
  for (const c of pattern) {
    const kind = c === 'a' ? FrameKind.AUDIO : c === 't' ? FrameKind.TEXT : FrameKind.VIDEO;
    const { bytes, frame: f } = frame(seq++, kind, c === 'K', payloadBytes);
    ring.write(bytes, f);
  }
  return seq;
}

/** Drains a reader: the seqs it returns, each checked against what was written. */
function drain(reader: RingReader, max = Infinity): number[] {
  const seqs: number[] = [];
  let bytes: Buffer | null;
  while (seqs.length < max && (bytes = reader.next())) {
    const h = peekFrameHeader(bytes);
    assert.equal(h.seq, reader.lastSeq);
    assert.ok(bytes.subarray(h.payloadOffset).every((b) => b === (h.kind === FrameKind.TEXT ? 0x61 : h.seq & 0xff)), `frame ${h.seq} intact`);
    seqs.push(h.seq);
  }
  return seqs;
}

function throwsCode(fn: () => unknown, code: RingErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof RingError && e.code === code);
}

describe('RingBuffer options', () => {
  it('derives thresholds from the capacity, and freezes the result', () => {
    const ring = new RingBuffer({ capacityBytes: 8192, capacityFrames: 64 });
    assert.deepEqual(ring.options, { capacityBytes: 8192, capacityFrames: 64, lagThreshold: { frames: 32, bytes: 4096 }, resumeThreshold: { frames: 8, bytes: 1024 } });
    assert.ok(Object.isFrozen(ring.options) && Object.isFrozen(ring.options.lagThreshold));
    assert.equal(ring.maxFrameBytes, 2048);
    const defaults = new RingBuffer();
    assert.equal(defaults.options.capacityBytes, 4 * 1024 * 1024);
    assert.equal(defaults.options.capacityFrames, 4096);
  });

  it('refuses unknown keys, out-of-range capacities and a resume threshold above the lag threshold', () => {
    throwsCode(() => new RingBuffer({ capacityBytes: 8192, bogus: 1 } as never), 'RING_ERR_BAD_OPTIONS');
    throwsCode(() => new RingBuffer({ capacityBytes: 10 }), 'RING_ERR_BAD_OPTIONS');
    throwsCode(() => new RingBuffer({ capacityFrames: 1.5 }), 'RING_ERR_BAD_OPTIONS');
    throwsCode(() => new RingBuffer({ capacityFrames: 64, resumeThreshold: { frames: 40 } }), 'RING_ERR_BAD_OPTIONS');
    throwsCode(() => new RingBuffer({ lagThreshold: { frames: 0 } }), 'RING_ERR_BAD_OPTIONS');
    const ring = new RingBuffer({ capacityFrames: 64 });
    throwsCode(() => ring.createReader({ lagThreshold: { frames: 4 } }), 'RING_ERR_BAD_OPTIONS');
    throwsCode(() => ring.createReader({ mode: 'x' } as never), 'RING_ERR_BAD_OPTIONS');
    const reader = ring.createReader({ lagThreshold: { frames: 20 }, resumeThreshold: { frames: 2 } });
    assert.deepEqual(reader.thresholds.lag, { frames: 20, bytes: ring.options.lagThreshold.bytes });
    assert.deepEqual(reader.thresholds.resume, { frames: 2, bytes: ring.options.resumeThreshold.bytes });
  });
});

describe('RingBuffer writes', () => {
  it('refuses an empty frame, one over a quarter of the slab, and writes after close', () => {
    const ring = new RingBuffer({ capacityBytes: 1024, capacityFrames: 16 });
    const header = { kind: FrameKind.AUDIO, keyframe: false, seq: 0, timestamp: 0 } as const;
    throwsCode(() => ring.write(new Uint8Array(0), header), 'RING_ERR_EMPTY_FRAME');
    throwsCode(() => ring.write(new Uint8Array(257), header), 'RING_ERR_FRAME_TOO_LARGE');
    ring.write(new Uint8Array(256), header);
    ring.close();
    ring.close();
    throwsCode(() => ring.write(new Uint8Array(8), header), 'RING_ERR_CLOSED');
    throwsCode(() => ring.createReader(), 'RING_ERR_CLOSED');
  });

  it('wraps to the start of the slab when a frame does not fit at the end, evicting only what it overwrites', () => {
    const ring = new RingBuffer({ capacityBytes: 1024, capacityFrames: 64 });
    assert.equal(frame(0, FrameKind.VIDEO, true, 183).bytes.length, 200);
    writeStream(ring, 'Kvvvv', 0, 183); // [0,1000): frames 0..4
    assert.deepEqual(ring.stats().bytes, 1000);
    writeStream(ring, 'v', 5, 183); // 200 bytes do not fit in [1000,1024): frame 5 goes to 0 and evicts frame 0 only
    const stats = ring.stats();
    assert.deepEqual([stats.frames, stats.bytes, stats.oldestSeq, stats.newestSeq, stats.framesEvicted], [5, 1000, 1, 5, 1]);
    assert.equal(stats.latestKeyframe, -1, 'the only keyframe was evicted');
    assert.equal(stats.latestKeyframeSeq, null);
    writeStream(ring, 'Kv', 6, 183); // [200,400) and [400,600): frames 1 and 2 go
    assert.deepEqual([ring.stats().oldestSeq, ring.stats().frames, ring.stats().latestKeyframeSeq], [3, 5, 6]);
    assert.deepEqual(drain(ring.createReader()), [6, 7]);
  });

  it('evicts the oldest frame when the index is full, whatever the bytes', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 4 });
    writeStream(ring, 'Kaaaaa');
    const stats = ring.stats();
    assert.deepEqual([stats.frames, stats.oldestSeq, stats.newestSeq, stats.firstFrame, stats.nextFrame, stats.latestKeyframe], [4, 2, 5, 2, 6, -1]);
    assert.ok(stats.bytes <= stats.capacityBytes);
  });

  it('takes a relay\'s bytes with the header from peekFrameHeader, and serves views of its slab (no copy)', () => {
    const ring = new RingBuffer({ capacityBytes: 4096, capacityFrames: 16 });
    const reader = ring.createReader();
    for (const { bytes } of [frame(0, FrameKind.VIDEO, true), frame(1, FrameKind.AUDIO)]) ring.write(bytes, peekFrameHeader(bytes));
    const a = reader.next()!;
    const b = reader.next()!;
    assert.equal(a.buffer, b.buffer, 'both are views of the one slab');
    assert.deepEqual([peekFrameHeader(a).keyframe, peekFrameHeader(b).kind], [true, FrameKind.AUDIO]);
  });
});

describe('RingReader rules', () => {
  it('never passes the writer: null when caught up, the next frame once written', () => {
    const ring = new RingBuffer({ capacityBytes: 4096, capacityFrames: 32 });
    const reader = ring.createReader();
    assert.equal(reader.next(), null);
    writeStream(ring, 'Ka');
    assert.deepEqual(drain(reader), [0, 1]);
    assert.equal(reader.next(), null);
    writeStream(ring, 'v', 2);
    assert.deepEqual(drain(reader), [2]);
    assert.deepEqual([reader.stats().lagFrames, reader.stats().lagBytes, reader.stats().framesSent], [0, 0, 3]);
  });

  it('starts a new reader at the newest keyframe', () => {
    const ring = new RingBuffer({ capacityBytes: 8192, capacityFrames: 64 });
    writeStream(ring, 'KvavaKvatva');
    assert.deepEqual(drain(ring.createReader()), [5, 6, 7, 8, 9, 10]);
  });

  it('with no keyframe held, starts at the writer: audio and text flow at once, video from the first keyframe', () => {
    const ring = new RingBuffer({ capacityBytes: 8192, capacityFrames: 64 });
    writeStream(ring, 'aaa');
    const reader = ring.createReader();
    const next = writeStream(ring, 'vavta', 3);
    assert.deepEqual(drain(reader), [4, 6, 7]);
    assert.equal(reader.stats().videoSkipped, 2);
    assert.equal(reader.stats().waitingForKeyframe, true);
    writeStream(ring, 'Kva', next);
    assert.deepEqual(drain(reader), [8, 9, 10]);
    assert.equal(reader.stats().waitingForKeyframe, false);
  });

  it('sends audio and text only while far behind, then video again from the next keyframe', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 256, lagThreshold: { frames: 10 }, resumeThreshold: { frames: 4 } });
    writeStream(ring, 'K');
    const reader = ring.createReader();
    // 0 is read; then 30 frames arrive at once: behind by more than 10 → audio-only
    assert.deepEqual(drain(reader), [0]);
    writeStream(ring, 'vava'.repeat(5) + 'Kvava' + 'vavav', 1);
    // From frame 1 on, 29 frames are behind: audio-only, so only audio goes (even seqs to 20, then
    // 23, 25). At frame 27 fewer than 4 remain behind: full again, but keyframe 21 has passed, so
    // video waits for the next keyframe (28 and 30 are skipped).
    assert.deepEqual(drain(reader), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 25, 27, 29]);
    const stats = reader.stats();
    assert.deepEqual([stats.degradations, stats.mode, stats.waitingForKeyframe, stats.videoSkipped], [1, 'full', true, 16]);
    writeStream(ring, 'aKv', 31);
    assert.deepEqual(drain(reader), [31, 32, 33]);
    assert.equal(reader.stats().videoSkipped, stats.videoSkipped);
  });

  it('counts the backlog behind the frame about to be sent: exactly the lag threshold still gets video', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 64, lagThreshold: { frames: 3 }, resumeThreshold: { frames: 1 } });
    writeStream(ring, 'K');
    const exact = ring.createReader();
    const over = ring.createReader();
    assert.deepEqual([drain(exact), drain(over)], [[0], [0]]);
    writeStream(ring, 'vvvv', 1); // behind frame 1: 3 frames
    assert.deepEqual(drain(exact, 1), [1]);
    writeStream(ring, 'a', 5); // behind frame 1 for `over`: 4 frames; behind frame 2 for `exact`: 3
    assert.deepEqual(drain(exact), [2, 3, 4, 5]);
    assert.deepEqual(drain(over), [5]);
    assert.deepEqual([exact.stats().degradations, over.stats().degradations, over.stats().videoSkipped], [0, 1, 4]);
  });

  it('counts the byte lag too: a reader behind by more bytes than its threshold goes audio-only', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 256, lagThreshold: { bytes: 300 }, resumeThreshold: { bytes: 100 } });
    writeStream(ring, 'Kavav', 0, 80); // five frames of 97–98 bytes: 390 behind frame 0
    const reader = ring.createReader();
    assert.deepEqual(drain(reader), [0, 1, 2, 3, 4], 'the backlog a new reader jumped into is not degraded');
    assert.equal(reader.stats().degradations, 0);
    // 8 more: about 680 bytes behind frame 5 → audio-only; at frame 12 nothing is behind → full again.
    writeStream(ring, 'Kavavava', 5, 80);
    assert.deepEqual(drain(reader), [6, 8, 10, 12]);
    assert.equal(reader.stats().degradations, 1);
  });

  it('jumps a lapped reader to the newest keyframe and counts a drop', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 16, lagThreshold: { frames: 16 }, resumeThreshold: { frames: 4 } });
    writeStream(ring, 'Kva');
    const reader = ring.createReader();
    assert.deepEqual(drain(reader, 1), [0]);
    writeStream(ring, 'vaKvavaKvavavavavava', 3); // 20 more: frame 1 is overwritten; keyframes at 5 and 10
    assert.deepEqual(drain(reader, 3), [10, 11, 12]);
    const stats = reader.stats();
    assert.deepEqual([stats.drops, stats.framesDropped, stats.mode], [1, 9, 'full']);
  });

  it('with no keyframe held, a lapped reader jumps to the writer and waits for the next keyframe', () => {
    const ring = new RingBuffer({ capacityBytes: 1 << 16, capacityFrames: 8 });
    writeStream(ring, 'K');
    const reader = ring.createReader();
    writeStream(ring, 'vavavavava', 1);
    assert.equal(reader.next(), null);
    assert.deepEqual([reader.stats().drops, reader.stats().cursor], [1, 11]);
    writeStream(ring, 'vaKa', 11);
    assert.deepEqual(drain(reader), [12, 13, 14]);
  });

  it('closes: a closed reader returns null and leaves the ring; closing the ring closes every reader', () => {
    const ring = new RingBuffer({ capacityBytes: 4096, capacityFrames: 16 });
    const a = ring.createReader();
    const b = ring.createReader();
    assert.equal(ring.stats().readers, 2);
    a.close();
    a.close();
    assert.equal(ring.readerCount, 1);
    writeStream(ring, 'Ka');
    assert.equal(a.next(), null);
    ring.close();
    assert.equal(b.closed, true);
    assert.equal(b.next(), null);
    assert.equal(ring.stats().readers, 0);
  });
});

describe('a congested consumer', () => {
  it('gets audio and text only while congested, then video from the next keyframe', () => {
    const ring = new RingBuffer({ capacityBytes: 64 * 1024, capacityFrames: 256 });
    const reader = ring.createReader();
    let seq = writeStream(ring, 'Kva');
    assert.deepEqual(drain(reader), [0, 1, 2]);
    reader.setCongested(true);
    seq = writeStream(ring, 'vatvK', seq);
    assert.deepEqual(drain(reader), [4, 5], 'video skipped, audio and text kept');
    reader.setCongested(false);
    seq = writeStream(ring, 'vaKv', seq);
    assert.deepEqual(drain(reader), [9, 10, 11], 'video again only from the keyframe');
    assert.equal(reader.stats().videoSkipped, 4);
  });

  it('keeps video flowing when the congestion cleared before any video was skipped', () => {
    const ring = new RingBuffer({ capacityBytes: 64 * 1024, capacityFrames: 256 });
    const reader = ring.createReader();
    let seq = writeStream(ring, 'Kv');
    drain(reader);
    reader.setCongested(true);
    seq = writeStream(ring, 'a', seq);
    assert.deepEqual(drain(reader), [2]);
    reader.setCongested(false);
    writeStream(ring, 'v', seq);
    assert.deepEqual(drain(reader), [3]);
  });

  it('resumeAtHead continues after the last written frame, video flowing', () => {
    const ring = new RingBuffer({ capacityBytes: 64 * 1024, capacityFrames: 256 });
    const reader = ring.createReader();
    const seq = writeStream(ring, 'Kvav');
    reader.resumeAtHead();
    assert.equal(reader.caughtUp, true);
    writeStream(ring, 'va', seq);
    assert.deepEqual(drain(reader), [4, 5]);
  });
});
