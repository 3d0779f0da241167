/** The fanout bench's per-seq UDP frame accounting (udp-frames.ts): complete, lost, late, across the seq wrap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitFrame } from '../../../protocol/frame-chunks.js';
import { FrameKind } from '../../../protocol/media-frame.js';
import { seededRandom } from '../random.js';
import { GIVE_UP_FRAMES, UdpFrameCounter, type ChunkOutcome } from './udp-frames.js';

function counter(): { c: UdpFrameCounter; seen: number[]; lost: { n: number }; chunks: Record<ChunkOutcome, number> } {
  const seen: number[] = [];
  const lost = { n: 0 };
  const chunks: Record<ChunkOutcome, number> = { ok: 0, late: 0, bad: 0 };
  const c = new UdpFrameCounter({ frame: (bytes) => seen.push(bytes.readUInt32LE(0)), lost: (n) => (lost.n += n), chunk: (_, outcome) => chunks[outcome]++ });
  return { c, seen, lost, chunks };
}

/** Frames `first`… (`count` of them), each a few chunks; its first 4 bytes are its seq, the rest its index. */
function framesFrom(first: number, count: number, random: () => number): { seq: number; chunks: Buffer[]; bytes: Buffer }[] {
  return Array.from({ length: count }, (_, i) => {
    const seq = (first + i) >>> 0;
    const bytes = Buffer.alloc(8 + Math.floor(random() * 4000));
    bytes.writeUInt32LE(seq, 0);
    for (let k = 4; k < bytes.length; k++) bytes[k] = (k + seq) & 0xff;
    return { seq, bytes, chunks: splitFrame(bytes, seq, FrameKind.VIDEO, false, 1100).map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) };
  });
}

for (const first of [100, 0xffff_fe00]) {
  describe(`UdpFrameCounter from seq ${first}`, () => {
    it('counts whole frames once, with their exact bytes, and every frame with a missing chunk as lost, reordered', () => {
      const random = seededRandom(7);
      const { c, seen, lost, chunks } = counter();
      const frames = framesFrom(first, 600, random);
      const joined = new Map<number, Buffer>();
      const c2 = new UdpFrameCounter({ frame: (bytes) => joined.set(bytes.readUInt32LE(0), Buffer.from(bytes)), lost: () => {}, chunk: () => {} });
      const dropped = new Set<number>();
      const sent: Buffer[] = [];
      for (const f of frames) {
        for (const chunk of f.chunks) {
          if (random() < 0.01) dropped.add(f.seq);
          else sent.push(chunk);
        }
      }
      // Unordered delivery: swaps within a few messages.
      for (let i = 0; i + 4 < sent.length; i++) {
        if (random() < 0.3) {
          const j = i + 1 + Math.floor(random() * 4);
          [sent[i], sent[j]] = [sent[j]!, sent[i]!];
        }
      }
      c.startAt(first);
      c2.startAt(first);
      for (const chunk of sent) {
        c.chunk(chunk, 0);
        c2.chunk(chunk, 0);
      }
      c.flush();
      assert.ok(dropped.size > 0);
      assert.equal(lost.n, dropped.size);
      assert.equal(seen.length + lost.n, frames.length);
      assert.equal(new Set(seen).size, seen.length);
      assert.equal(chunks.ok, sent.length);
      for (const f of frames) if (!dropped.has(f.seq)) assert.deepEqual(joined.get(f.seq), f.bytes);
    });

    it('counts a chunk after its seq was given up as late, and a repeated one too', () => {
      const { c, seen, lost, chunks } = counter();
      const frames = framesFrom(first, GIVE_UP_FRAMES + 2, seededRandom(3));
      const held = frames[0]!.chunks[0]!;
      c.startAt(first);
      for (const f of frames) for (const chunk of f.chunks) if (chunk !== held) c.chunk(chunk, 0);
      assert.equal(lost.n, 1);
      c.chunk(held, 0);
      c.chunk(frames.at(-1)!.chunks[0]!, 0);
      assert.equal(chunks.late, 2);
      assert.equal(seen.length, frames.length - 1);
    });
  });
}
