/**
 * The UDP path carries frames over an unordered, unreliable data channel, where a message must stay
 * small (a lost SCTP fragment loses the whole message, and 262,144 bytes is a hard limit). A unit
 * splits each encoded frame ONCE into chunks that every UDP viewer then receives unchanged; the
 * client reassembles them, notices lost frames by sequence gaps, and holds video back until the next
 * keyframe so it never decodes a picture that references one it did not get.
 *
 * Chunk layout (written by hand: a fixed 12-byte header is simpler than any schema library):
 *   u8 version · u8 flags (bit 0: keyframe, bits 1-2: kind) · u32 frame seq · u16 chunk index ·
 *   u16 chunk count · u16 reserved · the chunk's slice of the encoded frame
 */
import { CodedError } from './control-errors.js';
import { FrameKind } from './media-frame.js';

export const CHUNK_VERSION = 1;
export const CHUNK_HEADER_BYTES = 12;
/** Payload bytes per chunk: a few IP packets, so one loss costs one chunk, not a keyframe. */
export const DEFAULT_CHUNK_PAYLOAD = 16 * 1024;
export const MAX_CHUNKS = 0xffff;

export const ChunkErrorCode = {
  CHUNK_ERR_SHORT: 'CHUNK_ERR_SHORT',
  CHUNK_ERR_VERSION: 'CHUNK_ERR_VERSION',
  CHUNK_ERR_HEADER: 'CHUNK_ERR_HEADER',
  CHUNK_ERR_TOO_LARGE: 'CHUNK_ERR_TOO_LARGE',
} as const;
export type ChunkErrorCode = (typeof ChunkErrorCode)[keyof typeof ChunkErrorCode];

export class ChunkError extends CodedError {
  constructor(code: ChunkErrorCode, detail: string) {
    super(code, detail);
    this.name = 'ChunkError';
  }
}

export interface ChunkHeader {
  seq: number;
  kind: FrameKind;
  keyframe: boolean;
  index: number;
  count: number;
}

/** Split one encoded frame into data-channel messages. Called once per frame per unit. */
export function splitFrame(encoded: Uint8Array, seq: number, kind: FrameKind, keyframe: boolean, chunkPayload = DEFAULT_CHUNK_PAYLOAD): Uint8Array[] {
  const count = Math.max(1, Math.ceil(encoded.length / chunkPayload));
  if (count > MAX_CHUNKS) throw new ChunkError(ChunkErrorCode.CHUNK_ERR_TOO_LARGE, `${encoded.length} bytes need ${count} chunks`);
  const chunks: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const slice = encoded.subarray(index * chunkPayload, Math.min(encoded.length, (index + 1) * chunkPayload));
    const chunk = new Uint8Array(CHUNK_HEADER_BYTES + slice.length);
    const header = new DataView(chunk.buffer);
    chunk[0] = CHUNK_VERSION;
    chunk[1] = (keyframe ? 1 : 0) | (kind << 1);
    header.setUint32(2, seq >>> 0);
    header.setUint16(6, index);
    header.setUint16(8, count);
    header.setUint16(10, 0);
    chunk.set(slice, CHUNK_HEADER_BYTES);
    chunks.push(chunk);
  }
  return chunks;
}

const KINDS = new Set<number>(Object.values(FrameKind));

export function readChunkHeader(chunk: Uint8Array): ChunkHeader {
  if (chunk.length < CHUNK_HEADER_BYTES) throw new ChunkError(ChunkErrorCode.CHUNK_ERR_SHORT, `${chunk.length} bytes`);
  if (chunk[0] !== CHUNK_VERSION) throw new ChunkError(ChunkErrorCode.CHUNK_ERR_VERSION, `version ${chunk[0]}`);
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const flags = chunk[1]!;
  const kind = (flags >> 1) & 0b11;
  const index = view.getUint16(6);
  const count = view.getUint16(8);
  if (!KINDS.has(kind) || flags > 0b111 || count === 0 || index >= count) throw new ChunkError(ChunkErrorCode.CHUNK_ERR_HEADER, `flags ${flags}, chunk ${index} of ${count}`);
  return { seq: view.getUint32(2), kind: kind as FrameKind, keyframe: (flags & 1) === 1, index, count };
}
