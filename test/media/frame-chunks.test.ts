import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_HEADER_BYTES, ChunkError, readChunkHeader, splitFrame } from '../../protocol/frame-chunks.js';
import { FrameReassembler } from '../../protocol/FrameReassembler.js';
import { FrameKind } from '../../protocol/media-frame.js';

interface Sent {
  seq: number;
  kind: FrameKind;
  keyframe: boolean;
  bytes: Uint8Array;
}

const frameArb = fc.record({
  kind: fc.constantFrom(FrameKind.VIDEO, FrameKind.AUDIO, FrameKind.TEXT),
  keyframe: fc.boolean(),
  size: fc.integer({ min: 1, max: 5000 }),
});

describe('frame chunks and reassembly', () => {
  it('splits a frame into small chunks that name it, and refuses malformed chunk headers', () => {
    const bytes = new Uint8Array(40_000).map((_, i) => i % 251);
    const chunks = splitFrame(bytes, 7, FrameKind.VIDEO, true, 16_384);
    assert.equal(chunks.length, 3);
    assert.deepEqual(chunks.map((c) => readChunkHeader(c)), [0, 1, 2].map((index) => ({ seq: 7, kind: FrameKind.VIDEO, keyframe: true, index, count: 3 })));
    assert.equal(chunks.reduce((n, c) => n + c.length - CHUNK_HEADER_BYTES, 0), bytes.length);
    const bad = Buffer.from(chunks[0]!);
    bad[0] = 9;
    assert.throws(() => readChunkHeader(bad), (e: unknown) => e instanceof ChunkError && e.code === 'CHUNK_ERR_VERSION');
    assert.throws(() => readChunkHeader(bad.subarray(0, 5)), (e: unknown) => e instanceof ChunkError && e.code === 'CHUNK_ERR_SHORT');
    const index = Buffer.from(chunks[0]!);
    index.writeUInt16BE(5, 6);
    assert.throws(() => readChunkHeader(index), (e: unknown) => e instanceof ChunkError && e.code === 'CHUNK_ERR_HEADER');
  });

  it('delivers every frame byte for byte when nothing is lost, whatever the chunk order within the window', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 1000 }), (specs, firstSeq, seed) => {
        const sent: Sent[] = specs.map((s, i) => ({ seq: (firstSeq + i) >>> 0, kind: s.kind, keyframe: s.keyframe || i === 0, bytes: new Uint8Array(s.size).map((_, j) => (j * 7 + i) & 255) }));
        // The stream starts with a video keyframe so nothing is held back.
        sent[0] = { ...sent[0]!, kind: FrameKind.VIDEO, keyframe: true };
        const chunks = sent.flatMap((f) => splitFrame(f.bytes, f.seq, f.kind, f.keyframe, 1000));
        // Reorder only locally (swap neighbours), as a loopback path does; the first chunk sets the start.
        for (let i = 1 + (seed % 3); i + 1 < chunks.length; i += 3) [chunks[i], chunks[i + 1]] = [chunks[i + 1]!, chunks[i]!];
        const r = new FrameReassembler(64);
        const got = [...chunks.flatMap((c) => r.push(c)), ...r.flush()];
        assert.equal(r.stats.framesLost, 0);
        // In sequence order, every one of them.
        assert.deepEqual(got.map((f) => f.seq), sent.map((f) => f.seq));
        for (const frame of got) assert.deepEqual(Buffer.from(frame.bytes), Buffer.from(sent.find((s) => s.seq === frame.seq)!.bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('after a loss, delivers no video until a keyframe; audio keeps flowing', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 5, maxLength: 80 }), fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }), (specs, keep) => {
        const sent: Sent[] = specs.map((s, i) => ({ seq: i, kind: s.kind, keyframe: s.keyframe && s.kind === FrameKind.VIDEO, bytes: new Uint8Array(s.size) }));
        const r = new FrameReassembler(8);
        const delivered: Sent[] = [];
        for (const frame of sent) {
          const chunks = splitFrame(frame.bytes, frame.seq, frame.kind, frame.keyframe, 1000);
          const dropped = !keep[frame.seq];
          for (const [i, chunk] of chunks.entries()) if (!(dropped && i === 0)) for (const f of r.push(chunk)) delivered.push(sent[f.seq]!);
        }
        for (const f of r.flush()) delivered.push(sent[f.seq]!);
        // Handed on in sequence order.
        assert.deepEqual(delivered.map((f) => f.seq), [...delivered.map((f) => f.seq)].sort((a, b) => a - b));
        // Walk what was delivered in order: once a frame before it was lost, video needs a keyframe first.
        const deliveredSeqs = new Set(delivered.map((f) => f.seq));
        let gate = true; // the stream starts awaiting a keyframe
        for (const frame of sent) {
          const wasDelivered = deliveredSeqs.has(frame.seq);
          if (!keep[frame.seq]) {
            gate = true;
            assert.ok(!wasDelivered, `lost frame ${frame.seq} was delivered`);
            continue;
          }
          if (frame.kind === FrameKind.VIDEO) {
            if (frame.keyframe) gate = false;
            if (gate) assert.ok(!wasDelivered, `video ${frame.seq} delivered before a keyframe after a loss`);
            else assert.ok(wasDelivered, `video ${frame.seq} withheld although a keyframe came after the last loss`);
          } else {
            assert.ok(wasDelivered, `${frame.kind === FrameKind.AUDIO ? 'audio' : 'text'} frame ${frame.seq} withheld`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stays bounded when most chunks never arrive', () => {
    const r = new FrameReassembler(16);
    for (let seq = 0; seq < 10_000; seq++) {
      const [first] = splitFrame(new Uint8Array(3000), seq, FrameKind.VIDEO, false, 1000);
      r.push(first!);
    }
    assert.ok(r.stats.framesLost >= 10_000 - 16);
    assert.equal(r.stats.framesDelivered, 0);
  });

  it('counts garbage and duplicate chunks without failing', () => {
    const r = new FrameReassembler();
    assert.deepEqual(r.push(new Uint8Array([1, 2, 3])), []);
    const [chunk] = splitFrame(new Uint8Array(10), 1, FrameKind.AUDIO, false);
    assert.equal(r.push(chunk!).length, 1);
    assert.deepEqual(r.push(chunk!), []);
    assert.deepEqual(r.stats, { framesDelivered: 1, framesLost: 0, videoDroppedAwaitingKeyframe: 0, badChunks: 1, lateOrDuplicate: 1 });
  });
});
