/**
 * The media frame codec: round trips, one test per FRAME_ERR code, the decoder checked against
 * msgpackr in both directions, and a fuzz over random and mutated bytes (a Frame or a FrameError,
 * never anything else).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FLOAT32_OPTIONS, Packr, Unpackr } from 'msgpackr';
import { CodedError } from '../../protocol/control-errors.js';
import { PieceJoiner, piecesAnnouncement } from '../../protocol/frame-pieces.js';
import {
  CODEC_KIND,
  Codec,
  FRAME_ERRORS,
  FRAME_FORMAT,
  FrameError,
  FrameKind,
  MAX_FRAME_BYTES,
  MAX_TEXT_PAYLOAD_BYTES,
  decodeFrame,
  encodeFrame,
  peekFrameHeader,
  type Frame,
  type FrameErrorCode,
} from '../../protocol/media-frame.js';

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const video: Frame = { channel: 7, seq: 41, timestamp: 1_000_000, kind: FrameKind.VIDEO, keyframe: true, codec: Codec.VP9, payload: Uint8Array.from([1, 2, 3, 4]) };
const fields = (f: Frame): unknown[] => [FRAME_FORMAT, f.channel, f.seq, f.timestamp, f.kind, f.keyframe, f.codec, f.payload];
/** A msgpackr-packed frame layout with field `index` replaced, to make one precise fault. */
const packedWith = (index: number, value: unknown, base: Frame = video): Buffer => {
  const array = fields(base);
  array[index] = value;
  return packr.pack(array);
};

function isFrameError(error: unknown, code?: FrameErrorCode): boolean {
  assert.ok(error instanceof FrameError, `expected a FrameError, got ${String(error)}`);
  assert.ok(error instanceof CodedError);
  assert.ok(error.code in FRAME_ERRORS, error.code);
  if (code) assert.equal(error.code, code, error.message);
  return true;
}

const codecs = Object.keys(CODEC_KIND) as Codec[];
const arbFrame: fc.Arbitrary<Frame> = fc
  .record({
    channel: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    seq: fc.integer({ min: 0, max: 0xffff_ffff }),
    timestamp: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.maxSafeNat()),
    keyframe: fc.boolean(),
    codec: fc.constantFrom(...codecs),
    bytes: fc.uint8Array({ maxLength: 3000 }),
    text: fc.string({ unit: 'grapheme', maxLength: 200 }),
  })
  .map(({ bytes, text, ...f }) => {
    const kind = CODEC_KIND[f.codec];
    return { ...f, kind, payload: kind === FrameKind.TEXT ? new TextEncoder().encode(text) : bytes };
  })
  .filter((f) => f.kind !== FrameKind.TEXT || f.payload.length <= MAX_TEXT_PAYLOAD_BYTES);

describe('media frame codec', () => {
  it('round-trips a frame, with the payload as a view of the input (no copy)', () => {
    const bytes = encodeFrame(video);
    const frame = decodeFrame(bytes);
    assert.deepEqual({ ...frame, payload: [...frame.payload] }, { ...video, payload: [1, 2, 3, 4] });
    assert.equal(frame.payload.buffer, bytes.buffer);
    assert.equal(frame.payload.byteOffset + frame.payload.length, bytes.byteOffset + bytes.length, 'the payload is the last field');
  });

  it('is a compact msgpack array that msgpackr itself reads back', () => {
    const bytes = encodeFrame(video);
    assert.equal(bytes[0], 0x98, 'fixarray of 8');
    assert.equal(bytes.length, 1 + 1 + 1 + 1 + 5 + 1 + 1 + 4 + 2 + 4);
    assert.deepEqual(unpackr.unpack(bytes), fields({ ...video, payload: Buffer.from(video.payload) }));
  });

  it('peekFrameHeader reads the header and locates the payload', () => {
    const bytes = encodeFrame({ ...video, timestamp: 2 ** 40, seq: 0xffff_ffff });
    const header = peekFrameHeader(bytes);
    assert.deepEqual(header, { channel: 7, seq: 0xffff_ffff, timestamp: 2 ** 40, kind: FrameKind.VIDEO, keyframe: true, codec: 'vp9', payloadOffset: bytes.length - 4, payloadLength: 4 });
  });

  it('accepts any msgpack width for a number field (float-encoded integers, 64-bit integers)', () => {
    const wide = new Packr({ useRecords: false, moreTypes: false, useFloat32: FLOAT32_OPTIONS.ALWAYS });
    const bytes = wide.pack([FRAME_FORMAT, 7n, 41n, 1e6, FrameKind.AUDIO, false, 'opus', Buffer.from('x')]);
    assert.deepEqual(peekFrameHeader(bytes).seq, 41);
    const float = Buffer.from(packr.pack(fields({ ...video, seq: 5 })));
    // seq 5 is a positive fixint at byte 3; re-encode it as float32 5.0 (0xca 40a00000)
    const patched = Buffer.concat([float.subarray(0, 3), Buffer.from([0xca, 0x40, 0xa0, 0, 0]), float.subarray(4)]);
    assert.equal(decodeFrame(patched).seq, 5);
  });

  it('round-trips every valid frame, and agrees with msgpackr on what it encodes', () => {
    fc.assert(
      fc.property(arbFrame, (frame) => {
        const bytes = encodeFrame(frame);
        assert.ok(bytes.length <= MAX_FRAME_BYTES);
        const decoded = decodeFrame(bytes);
        assert.deepEqual({ ...decoded, payload: Buffer.from(decoded.payload) }, { ...frame, payload: Buffer.from(frame.payload) });
        assert.deepEqual(unpackr.unpack(bytes), fields({ ...frame, payload: Buffer.from(frame.payload) }));
        const h = peekFrameHeader(bytes);
        assert.equal(h.payloadOffset + h.payloadLength, bytes.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('media frame errors', () => {
  const bad = (bytes: Uint8Array, code: FrameErrorCode) => {
    assert.throws(() => decodeFrame(bytes), (e) => isFrameError(e, code));
    assert.throws(() => peekFrameHeader(bytes), (e) => isFrameError(e, code));
  };
  const badEncode = (frame: unknown, code: FrameErrorCode) => assert.throws(() => encodeFrame(frame as Frame), (e) => isFrameError(e, code));
  const seen = new Set<FrameErrorCode>();
  const cases: Record<FrameErrorCode, () => void> = {
    FRAME_ERR_TOO_LARGE: () => {
      bad(Buffer.alloc(MAX_FRAME_BYTES + 1), 'FRAME_ERR_TOO_LARGE');
      badEncode({ ...video, payload: new Uint8Array(MAX_FRAME_BYTES + 1) }, 'FRAME_ERR_TOO_LARGE');
      badEncode({ ...video, payload: new Uint8Array(MAX_FRAME_BYTES - 5) }, 'FRAME_ERR_TOO_LARGE');
    },
    FRAME_ERR_TRUNCATED: () => {
      const bytes = encodeFrame(video);
      bad(bytes.subarray(0, bytes.length - 1), 'FRAME_ERR_TRUNCATED');
      bad(bytes.subarray(0, 5), 'FRAME_ERR_TRUNCATED');
      bad(new Uint8Array(0), 'FRAME_ERR_TRUNCATED');
    },
    FRAME_ERR_BAD_LAYOUT: () => {
      bad(packr.pack([1, 2, 3]), 'FRAME_ERR_BAD_LAYOUT');
      bad(packr.pack({ channel: 7 }), 'FRAME_ERR_BAD_LAYOUT');
      bad(packr.pack([...fields(video), 'extra']), 'FRAME_ERR_BAD_LAYOUT');
      bad(Buffer.concat([encodeFrame(video), Buffer.from([0])]), 'FRAME_ERR_BAD_LAYOUT');
      assert.throws(() => decodeFrame('not bytes' as unknown as Uint8Array), (e) => isFrameError(e, 'FRAME_ERR_BAD_LAYOUT'));
    },
    FRAME_ERR_BAD_FORMAT: () => {
      bad(packedWith(0, 2), 'FRAME_ERR_BAD_FORMAT');
      bad(packedWith(0, 'v1'), 'FRAME_ERR_BAD_FORMAT');
    },
    FRAME_ERR_BAD_CHANNEL: () => {
      for (const v of [0, -1, 2 ** 31, 1.5, 'x', null]) {
        bad(packedWith(1, v), 'FRAME_ERR_BAD_CHANNEL');
        badEncode({ ...video, channel: v }, 'FRAME_ERR_BAD_CHANNEL');
      }
    },
    FRAME_ERR_BAD_SEQ: () => {
      for (const v of [-1, 2 ** 32, 0.5, true]) {
        bad(packedWith(2, v), 'FRAME_ERR_BAD_SEQ');
        badEncode({ ...video, seq: v }, 'FRAME_ERR_BAD_SEQ');
      }
    },
    FRAME_ERR_BAD_TIMESTAMP: () => {
      for (const v of [-1, 1.25, 2 ** 53, Number.NaN, Infinity, 2n ** 63n]) {
        bad(packedWith(3, v), 'FRAME_ERR_BAD_TIMESTAMP');
        if (typeof v === 'number') badEncode({ ...video, timestamp: v }, 'FRAME_ERR_BAD_TIMESTAMP');
      }
    },
    FRAME_ERR_UNKNOWN_KIND: () => {
      for (const v of [0, 4, 'video']) {
        bad(packedWith(4, v), 'FRAME_ERR_UNKNOWN_KIND');
        badEncode({ ...video, kind: v }, 'FRAME_ERR_UNKNOWN_KIND');
      }
    },
    FRAME_ERR_BAD_KEYFRAME: () => {
      for (const v of [1, null, 'true']) {
        bad(packedWith(5, v), 'FRAME_ERR_BAD_KEYFRAME');
        badEncode({ ...video, keyframe: v }, 'FRAME_ERR_BAD_KEYFRAME');
      }
    },
    FRAME_ERR_UNKNOWN_CODEC: () => {
      for (const v of ['h266', 'VP8', '', 5, 'constructor', 'toString']) {
        bad(packedWith(6, v), 'FRAME_ERR_UNKNOWN_CODEC');
        badEncode({ ...video, codec: v }, 'FRAME_ERR_UNKNOWN_CODEC');
      }
    },
    FRAME_ERR_CODEC_KIND: () => {
      bad(packedWith(6, 'opus'), 'FRAME_ERR_CODEC_KIND');
      badEncode({ ...video, codec: 'text/utf8' }, 'FRAME_ERR_CODEC_KIND');
      badEncode({ ...video, kind: FrameKind.AUDIO, codec: 'h264' }, 'FRAME_ERR_CODEC_KIND');
    },
    FRAME_ERR_BAD_PAYLOAD: () => {
      for (const v of ['bytes', [1, 2], null, 3]) {
        bad(packedWith(7, v), 'FRAME_ERR_BAD_PAYLOAD');
        badEncode({ ...video, payload: v }, 'FRAME_ERR_BAD_PAYLOAD');
      }
      // a typed array as a msgpackr extension is not a bin
      bad(new Packr({ useRecords: false, moreTypes: true }).pack([...fields(video).slice(0, 7), new Uint16Array([1])]), 'FRAME_ERR_BAD_PAYLOAD');
    },
    FRAME_ERR_TEXT_TOO_LARGE: () => {
      const text: Frame = { ...video, kind: FrameKind.TEXT, keyframe: false, codec: 'text/utf8', payload: Buffer.alloc(MAX_TEXT_PAYLOAD_BYTES + 1, 0x61) };
      bad(packr.pack(fields(text)), 'FRAME_ERR_TEXT_TOO_LARGE');
      badEncode(text, 'FRAME_ERR_TEXT_TOO_LARGE');
      assert.equal(decodeFrame(encodeFrame({ ...text, payload: text.payload.subarray(1) })).payload.length, MAX_TEXT_PAYLOAD_BYTES);
    },
    FRAME_ERR_BAD_TEXT: () => {
      const text: Frame = { ...video, kind: FrameKind.TEXT, keyframe: false, codec: 'text/utf8', payload: Buffer.from([0x68, 0xff, 0x69]) };
      bad(packr.pack(fields(text)), 'FRAME_ERR_BAD_TEXT');
      badEncode(text, 'FRAME_ERR_BAD_TEXT');
      assert.equal(new TextDecoder().decode(decodeFrame(encodeFrame({ ...text, payload: Buffer.from('안녕 👋') })).payload), '안녕 👋');
    },
    FRAME_ERR_BAD_PIECES: () => {
      // Joining is its own step (test/media/frame-pieces.test.ts covers it); here: its code exists and is thrown.
      assert.throws(() => new PieceJoiner().push(piecesAnnouncement(10)), (e) => isFrameError(e, 'FRAME_ERR_BAD_PIECES'));
    },
  };

  for (const [code, run] of Object.entries(cases) as [FrameErrorCode, () => void][]) {
    it(code, () => {
      run();
      seen.add(code);
    });
  }

  it('has a test and a message for every code in the catalogue', () => {
    for (const code of Object.keys(FRAME_ERRORS) as FrameErrorCode[]) {
      assert.match(code, /^FRAME_ERR_[A-Z_]+$/);
      assert.ok(FRAME_ERRORS[code].length > 0);
      assert.ok(seen.has(code), `${code} was not exercised`);
    }
  });
});

describe('media frame fuzz', () => {
  /** The decoder's verdict: the frame's fields, or the error (which must be a FrameError). */
  function verdict(bytes: Uint8Array): Frame | 'refused' {
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      isFrameError(error);
      assert.throws(() => peekFrameHeader(bytes), (e) => isFrameError(e), 'peek refuses what decode refuses');
      return 'refused';
    }
    const { payloadOffset, payloadLength, ...header } = peekFrameHeader(bytes);
    const { payload, ...fields } = frame;
    assert.deepEqual(header, fields, 'peek reads what decode reads');
    assert.equal(payloadOffset, payload.byteOffset - bytes.byteOffset);
    assert.equal(payloadLength, payload.length);
    // A frame the decoder accepts is one the encoder accepts, and it means the same thing.
    const again = decodeFrame(encodeFrame(frame));
    assert.deepEqual({ ...again, payload: Buffer.from(again.payload) }, { ...frame, payload: Buffer.from(frame.payload) });
    return frame;
  }

  it('random bytes: a Frame or a FrameError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void verdict(bytes)), { numRuns: 3000 });
  });

  it('random bytes after a valid header prefix: a Frame or a FrameError', () => {
    const prefix = encodeFrame(video).subarray(0, 12);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => void verdict(Buffer.concat([prefix, tail]))), { numRuns: 3000 });
  });

  it('mutated valid frames (bytes flipped, cut, inserted): a Frame or a FrameError', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('cut' as const), at: fc.nat(), value: fc.nat({ max: 8 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(arbFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        let bytes = Buffer.from(encodeFrame(frame));
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1);
          if (m.op === 'set' && at < bytes.length) bytes[at] = m.value;
          if (m.op === 'cut') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.value)]);
          if (m.op === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.value]), bytes.subarray(at)]);
        }
        verdict(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with msgpackr: an 8-array of random values is accepted exactly when msgpackr reads a valid frame from it', () => {
    const value = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(...codecs, 'vp10', ''),
      fc.uint8Array({ maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 2 }),
    );
    const valid: unknown[] = [FRAME_FORMAT, 7, 1, 0, FrameKind.AUDIO, false, 'opus', Uint8Array.from([9])];
    const reference = (bytes: Uint8Array): boolean => {
      const v = unpackr.unpack(bytes) as unknown[];
      const [format, channel, seq, ts, kind, key, codec, payload] = v;
      const int = (x: unknown, min: number, max: number) => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
      return (
        v.length === 8 && format === FRAME_FORMAT && int(channel, 1, 2 ** 31 - 1) && int(seq, 0, 2 ** 32 - 1) &&
        typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0 && typeof key === 'boolean' &&
        typeof codec === 'string' && Object.hasOwn(CODEC_KIND, codec) && CODEC_KIND[codec as Codec] === kind && payload instanceof Uint8Array &&
        (kind !== FrameKind.TEXT || (payload.length <= MAX_TEXT_PAYLOAD_BYTES && (() => { try { new TextDecoder('utf-8', { fatal: true }).decode(payload); return true; } catch { return false; } })()))
      );
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 7 }), value), { maxLength: 3 }), (replacements) => {
        const array = [...valid];
        for (const [i, v] of replacements) array[i] = v;
        const bytes = packr.pack(array);
        const accepted = verdict(bytes) !== 'refused';
        assert.equal(accepted, reference(bytes), `array ${String(array)}`);
        if (accepted) {
          const [, channel, seq, timestamp, kind, keyframe, codec] = unpackr.unpack(bytes) as unknown[];
          assert.deepEqual({ ...decodeFrame(bytes), payload: undefined }, { channel, seq, timestamp, kind, keyframe, codec, payload: undefined });
        }
      }),
      { numRuns: 3000 },
    );
  });
});
