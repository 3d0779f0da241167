/**
 * Large frames go to TCP viewers and relays as an announcement and slices (protocol/frame-pieces.ts):
 * what is split is joined back byte for byte, small frames pass as they are, and a joiner fed
 * anything that does not add up refuses it with FRAME_ERR_BAD_PIECES (and can go on afterwards).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PIECE_BYTES, PIECES_MARKER, PieceJoiner, piecesAnnouncement, sendInPieces } from '../../protocol/frame-pieces.js';
import { Codec, decodeFrame, encodeFrame, FrameError, FrameKind, MAX_FRAME_BYTES } from '../../protocol/media-frame.js';

const split = (frame: Uint8Array): Uint8Array[] => {
  const messages: Uint8Array[] = [];
  sendInPieces(frame, (m) => messages.push(m) > 0);
  return messages;
};
const badPieces = (e: unknown): boolean => e instanceof FrameError && e.code === 'FRAME_ERR_BAD_PIECES';

describe('frame pieces', () => {
  it('joins what it splits, byte for byte, for frames of any size, several in a row', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 * PIECE_BYTES + 3 }), { minLength: 1, maxLength: 6 }), (sizes) => {
        const joiner = new PieceJoiner();
        for (const [i, size] of sizes.entries()) {
          const frame = Uint8Array.from({ length: size }, (_, k) => (k * 7 + i) & 0xff);
          frame[0] = 0x98; // a msgpack array, as every frame starts
          const messages = split(frame);
          assert.equal(messages.length, size <= PIECE_BYTES ? 1 : 1 + Math.ceil(size / PIECE_BYTES));
          assert.ok(messages.every((m) => m.length <= PIECE_BYTES), 'every message fits the piece size');
          const out = messages.map((m) => joiner.push(m));
          assert.ok(out.slice(0, -1).every((o) => o === null), 'nothing before the last piece');
          assert.deepEqual(Buffer.from(out.at(-1)!), Buffer.from(frame));
          if (size <= PIECE_BYTES) assert.equal(out.at(-1), frame, 'a small frame is passed on as it is, not copied');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('joins into one reused buffer when asked: no allocation per frame, same bytes', () => {
    const joiner = new PieceJoiner({ reuseBuffer: true });
    const frames = [3 * PIECE_BYTES, 2 * PIECE_BYTES + 1, 5 * PIECE_BYTES].map((size, i) => Uint8Array.from({ length: size }, (_, k) => (k + i) & 0xff));
    const joined = frames.map((frame) => {
      let whole: Uint8Array | null = null;
      for (const m of split(frame)) whole = joiner.push(m);
      assert.deepEqual(Buffer.from(whole!), Buffer.from(frame));
      return whole!;
    });
    assert.equal(joined[0]!.buffer, joined[1]!.buffer, 'a smaller frame reuses the buffer');
    assert.notEqual(joined[1]!.buffer, joined[2]!.buffer, 'a larger one grows it');
  });

  it('sends slices that are views of the one encoded frame, and stops when the socket drops one', () => {
    const frame = encodeFrame({ channel: 3, seq: 9, timestamp: 1, kind: FrameKind.VIDEO, keyframe: true, codec: Codec.VP8, payload: new Uint8Array(3 * PIECE_BYTES) });
    const messages = split(frame);
    assert.equal(messages[0]![0], PIECES_MARKER);
    for (const slice of messages.slice(1)) assert.equal(slice.buffer, frame.buffer, 'no copy per piece');
    assert.equal(split(frame)[0], messages[0], 'the same frame to another reader: the same announcement, not a new one');
    let sent = 0;
    assert.equal(sendInPieces(frame, () => ++sent < 2), false);
    assert.equal(sent, 2, 'nothing after a dropped piece');
    const joiner = new PieceJoiner();
    let whole: Uint8Array | null = null;
    for (const m of messages) whole = joiner.push(m);
    assert.equal(decodeFrame(whole!).seq, 9);
  });

  it('refuses announcements and slices that cannot be right, then takes the next good frame', () => {
    const joiner = new PieceJoiner();
    assert.throws(() => joiner.push(piecesAnnouncement(PIECE_BYTES)), badPieces, 'a frame that would not have been split');
    assert.throws(() => joiner.push(piecesAnnouncement(MAX_FRAME_BYTES + 1)), badPieces, 'past the frame size limit');
    assert.throws(() => joiner.push(Uint8Array.of(PIECES_MARKER, 0, 0)), badPieces, 'a short announcement');
    joiner.push(piecesAnnouncement(PIECE_BYTES + 10));
    assert.throws(() => joiner.push(new Uint8Array(PIECE_BYTES + 1)), badPieces, 'a slice larger than a piece');
    joiner.push(piecesAnnouncement(PIECE_BYTES + 10));
    joiner.push(new Uint8Array(PIECE_BYTES));
    assert.throws(() => joiner.push(new Uint8Array(11)), badPieces, 'a slice past the announced length');
    const small = Uint8Array.of(0x98, 1, 2);
    assert.equal(joiner.push(small), small, 'after a refusal the joiner starts clean');
  });
});
