/**
 * RingBuffer property tests: random rings and thresholds, random streams (kinds, sizes, keyframe
 * positions) written in random bursts, read by several readers created, read and closed at random
 * moments and speeds. A model that remembers every frame written checks each frame a reader returns
 * against the rules, independently of the ring's own bookkeeping where it can.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Codec, FrameKind, encodeFrame, peekFrameHeader } from '../../protocol/media-frame.js';
import { RingBuffer, type RingReader, type Threshold } from '../../streaming-unit/media/RingBuffer.js';

const CODEC = { [FrameKind.VIDEO]: Codec.VP8, [FrameKind.AUDIO]: Codec.OPUS, [FrameKind.TEXT]: Codec.TEXT_UTF8 } as const;
/** Largest header of the frames written here (seq < 2^16, timestamp < 2^32, 'text/utf8', bin16). */
const HEADER_MAX = 1 + 1 + 1 + 3 + 5 + 1 + 1 + 10 + 3;

type Op =
  | { op: 'write'; kind: FrameKind; keyframe: boolean; size: number }
  | { op: 'read'; reader: number; count: number }
  | { op: 'create'; reader: number; own: boolean }
  | { op: 'close'; reader: number };

const READERS = 4;
const arbConfig = fc
  .record({ capacityBytes: fc.integer({ min: 256, max: 16_384 }), capacityFrames: fc.integer({ min: 2, max: 96 }) })
  .chain((cap) => {
    const threshold = fc
      .record({ frames: fc.integer({ min: 1, max: cap.capacityFrames + 4 }), bytes: fc.integer({ min: 1, max: cap.capacityBytes + 64 }) })
      .chain((lag) =>
        fc.record({ frames: fc.integer({ min: 1, max: lag.frames }), bytes: fc.integer({ min: 1, max: lag.bytes }) }).map((resume) => ({ lag, resume })),
      );
    return fc.record({ cap: fc.constant(cap), ring: threshold, own: threshold });
  });

const arbOps = (maxPayload: number): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('write' as const), kind: fc.constantFrom(FrameKind.VIDEO, FrameKind.VIDEO, FrameKind.AUDIO, FrameKind.TEXT), keyframe: fc.boolean(), size: fc.nat({ max: maxPayload }) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('read' as const), reader: fc.nat({ max: READERS - 1 }), count: fc.integer({ min: 1, max: 12 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('create' as const), reader: fc.nat({ max: READERS - 1 }), own: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), reader: fc.nat({ max: READERS - 1 }) }) },
    ),
    { minLength: 20, maxLength: 400, size: 'large' },
  );

interface Written {
  bytes: Uint8Array;
  kind: FrameKind;
  key: boolean;
  /** number of the video frame before this one, -1 if none */
  prevVideo: number;
}

interface ReaderModel {
  reader: RingReader;
  /** the last frame returned, or the frame before where the reader (re)started */
  lastIndex: number;
  lastVideo: number;
  /** the backlog rule applies from this frame on (after the newest jump) */
  graceUntil: number;
  /** set at creation: the first frame returned must be this keyframe, or at/after `createdAt` when none */
  firstExpected: { keyframe: number; createdAt: number } | null;
  lag: Threshold;
  resume: Threshold;
}

interface Scenario {
  cap: { capacityBytes: number; capacityFrames: number };
  /** the ring's thresholds, and those of readers created with their own */
  ring: { lag: Threshold; resume: Threshold };
  own: { lag: Threshold; resume: Threshold };
}

/** How often the interesting cases came up, summed over a property's runs: each must come up. */
interface Coverage {
  reads: number;
  evicted: number;
  laps: number;
  degradations: number;
  resumedVideo: number;
}
const newCoverage = (): Coverage => ({ reads: 0, evicted: 0, laps: 0, degradations: 0, resumedVideo: 0 });

function runScenario(config: Scenario, ops: Op[], forceFirstKeyframe: boolean, coverage: Coverage): void {
  const ring = new RingBuffer({ ...config.cap, lagThreshold: config.ring.lag, resumeThreshold: config.ring.resume });
  const written: Written[] = [];
  let lastVideo = -1;
  const readers: (ReaderModel | null)[] = new Array(READERS).fill(null);
  // Reads after every write, from before the first one: it must receive every frame.
  const keeper = ring.createReader();
  const kept: number[] = [];

  const latestKeyframeHeld = (first: number, next: number): number => {
    for (let n = next - 1; n >= first; n--) if (written[n]!.kind === FrameKind.VIDEO && written[n]!.key) return n;
    return -1;
  };
  const bytesAfter = (n: number, head: number): number => {
    let sum = 0;
    for (let i = n + 1; i < head; i++) sum += written[i]!.bytes.length;
    return sum;
  };

  const create = (slot: number, own: boolean): void => {
    readers[slot]?.reader.close();
    const s = ring.stats();
    const reader = ring.createReader(own ? { lagThreshold: config.own.lag, resumeThreshold: config.own.resume } : {});
    const expected = own ? config.own : config.ring;
    assert.deepEqual({ lag: { ...reader.thresholds.lag }, resume: { ...reader.thresholds.resume } }, { lag: { ...expected.lag }, resume: { ...expected.resume } });
    const keyframe = latestKeyframeHeld(s.firstFrame, s.nextFrame);
    readers[slot] = {
      reader, lastIndex: (keyframe >= 0 ? keyframe : s.nextFrame) - 1, lastVideo: -1, graceUntil: s.nextFrame,
      firstExpected: { keyframe, createdAt: s.nextFrame },
      lag: reader.thresholds.lag, resume: reader.thresholds.resume,
    };
  };

  /** One next() call, checked. Returns false when the reader is caught up (or closed). */
  const readOne = (m: ReaderModel): boolean => {
    const before = m.reader.stats();
    const s = ring.stats();
    const view = m.reader.next();
    const after = m.reader.stats();
    const lapped = after.drops > before.drops;
    if (lapped) coverage.laps++;
    coverage.degradations += after.degradations - before.degradations;
    let jumpTarget = -2;
    if (lapped) {
      assert.equal(after.drops, before.drops + 1);
      assert.ok(before.cursor < s.firstFrame, 'only a reader whose frame was overwritten is lapped');
      jumpTarget = latestKeyframeHeld(s.firstFrame, s.nextFrame);
      m.graceUntil = s.nextFrame;
      m.lastVideo = -1;
      m.lastIndex = (jumpTarget >= 0 ? jumpTarget : s.nextFrame) - 1;
    }
    if (view === null) {
      if (!m.reader.closed) assert.equal(after.cursor, s.nextFrame, 'null only when caught up');
      if (lapped) assert.equal(jumpTarget, -1, 'a lapped reader with a keyframe held returns it at once');
      return false;
    }
    coverage.reads++;
    const index = peekFrameHeader(view).seq;
    const w = written[index];
    assert.ok(w, `frame ${index} was written`);
    assert.ok(index < s.nextFrame && index >= s.firstFrame, 'never a frame not yet written, never one evicted');
    assert.ok(index > m.lastIndex, 'in order');
    assert.ok(view.equals(w.bytes), `frame ${index}: the bytes written`);
    assert.equal(m.reader.lastSeq, index);
    if (lapped) assert.equal(index, jumpTarget, 'a lapped reader jumps to the newest keyframe');
    else if (after.drops === 0 && m.firstExpected) {
      const { keyframe, createdAt } = m.firstExpected;
      if (keyframe >= 0) assert.equal(index, keyframe, 'a new reader starts at the newest keyframe');
      else assert.ok(index >= createdAt, 'a new reader with no keyframe held starts at the writer');
    }
    m.firstExpected = null;
    // Audio and text are never skipped, except by a jump.
    for (let i = m.lastIndex + 1; i < index; i++) assert.equal(written[i]!.kind, FrameKind.VIDEO, `frame ${i} (not video) was skipped`);
    if (w.kind === FrameKind.VIDEO) {
      assert.equal(after.mode, 'full', 'no video in audio-only mode');
      assert.ok(w.key || (m.lastVideo >= 0 && w.prevVideo === m.lastVideo), `video ${index} starts at a keyframe or continues the GOP without a gap`);
      if (index >= m.graceUntil) {
        assert.ok(s.nextFrame - index - 1 <= m.lag.frames && bytesAfter(index, s.nextFrame) <= m.lag.bytes, 'video only while not too far behind');
        if (before.mode === 'audio-only') {
          assert.ok(s.nextFrame - index - 1 < m.resume.frames && bytesAfter(index, s.nextFrame) < m.resume.bytes, 'resumed under the resume threshold');
          coverage.resumedVideo++;
        }
      }
      m.lastVideo = index;
    }
    if (after.mode === 'audio-only') assert.notEqual(w.kind, FrameKind.VIDEO);
    // The mode changes exactly at the thresholds. The backlog behind a frame only shrinks as the
    // reader moves on within one call, so a degradation in this call was decided at the first frame
    // it considered, and a resume holds for the frame it returned.
    if (!lapped && after.degradations > before.degradations) {
      const first = Math.max(before.cursor, m.graceUntil);
      assert.ok(s.nextFrame - first - 1 > m.lag.frames || bytesAfter(first, s.nextFrame) > m.lag.bytes, 'audio-only only when over the lag threshold');
    }
    if (!lapped && before.mode === 'audio-only' && after.mode === 'full') {
      assert.ok(s.nextFrame - index - 1 < m.resume.frames && bytesAfter(index, s.nextFrame) < m.resume.bytes, 'full again only under the resume threshold');
    }
    m.lastIndex = index;
    return true;
  };

  for (const op of ops) {
    if (op.op === 'write') {
      const n = written.length;
      const key = op.keyframe || (forceFirstKeyframe && op.kind === FrameKind.VIDEO && lastVideo < 0);
      const size = op.kind === FrameKind.TEXT ? Math.min(op.size, 2048) : op.size;
      const bytes = encodeFrame({
        channel: 3, seq: n, timestamp: 1_000_000 + n * 1000, kind: op.kind, keyframe: key, codec: CODEC[op.kind],
        payload: Buffer.alloc(size, op.kind === FrameKind.TEXT ? 0x61 : n & 0xff),
      });
      assert.ok(bytes.length <= ring.maxFrameBytes);
      ring.write(bytes, peekFrameHeader(bytes));
      written.push({ bytes, kind: op.kind, key, prevVideo: lastVideo });
      if (op.kind === FrameKind.VIDEO) lastVideo = n;
      const s = ring.stats();
      assert.equal(s.nextFrame, written.length);
      assert.ok(s.frames <= s.capacityFrames && s.frames >= 1, 'frame capacity');
      let held = 0;
      for (let i = s.firstFrame; i < s.nextFrame; i++) held += written[i]!.bytes.length;
      assert.equal(s.bytes, held);
      assert.ok(held <= s.capacityBytes, 'byte capacity');
      assert.equal(s.latestKeyframe, latestKeyframeHeld(s.firstFrame, s.nextFrame));
      let bytesOut: Buffer | null;
      while ((bytesOut = keeper.next())) {
        const i = peekFrameHeader(bytesOut).seq;
        assert.ok(bytesOut.equals(written[i]!.bytes));
        kept.push(i);
      }
    } else if (op.op === 'create') {
      create(op.reader, op.own);
    } else if (op.op === 'close') {
      readers[op.reader]?.reader.close();
      readers[op.reader] = null;
    } else {
      const m = readers[op.reader];
      if (!m) continue;
      for (let i = 0; i < op.count && readOne(m); i++);
    }
  }
  // Every reader drains to the writer at the end, still under the rules.
  for (const m of readers) if (m) while (readOne(m));
  if (forceFirstKeyframe) {
    assert.deepEqual(kept, written.map((_, i) => i), 'a reader that keeps up receives every frame');
    assert.deepEqual([keeper.stats().drops, keeper.stats().videoSkipped, keeper.stats().degradations], [0, 0, 0]);
  }
  assert.equal(ring.stats().readers, 1 + readers.filter(Boolean).length);
  coverage.evicted += ring.stats().framesEvicted;
  ring.close();
}

describe('RingBuffer properties', () => {
  it('random streams and readers obey every rule', () => {
    const coverage = newCoverage();
    fc.assert(
      fc.property(
        arbConfig.chain((config) => fc.tuple(fc.constant(config), arbOps(Math.floor(config.cap.capacityBytes / 4) - HEADER_MAX), fc.boolean())),
        ([config, ops, forceFirstKeyframe]) => runScenario(config, ops, forceFirstKeyframe, coverage),
      ),
      { numRuns: 400 },
    );
    for (const [what, count] of Object.entries(coverage)) assert.ok(count > 0, `no run exercised ${what}`);
  });

  it('long streams through a small ring (many laps and wraps)', () => {
    const coverage = newCoverage();
    const config = fc.record({
      cap: fc.record({ capacityBytes: fc.integer({ min: 256, max: 1024 }), capacityFrames: fc.integer({ min: 2, max: 24 }) }),
      ring: fc.constant({ lag: { frames: 8, bytes: 300 }, resume: { frames: 3, bytes: 100 } }),
      own: fc.constant({ lag: { frames: 100, bytes: 100_000 }, resume: { frames: 50, bytes: 50_000 } }),
    });
    fc.assert(
      fc.property(config.chain((c) => fc.tuple(fc.constant(c), arbOps(Math.floor(c.cap.capacityBytes / 4) - HEADER_MAX))), ([c, ops]) => {
        const warm: Op[] = [0, 1, 2, 3].map((reader) => ({ op: 'create', reader, own: reader % 2 === 0 }));
        runScenario(c, [...warm, ...ops, ...ops, ...ops], true, coverage);
      }),
      { numRuns: 150 },
    );
    for (const [what, count] of Object.entries(coverage)) assert.ok(count > 0, `no run exercised ${what}`);

  });
});
