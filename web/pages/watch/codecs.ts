/**
 * The wire's short codec names (protocol/media-frame.ts) as WebCodecs decoder configurations.
 *
 * The strings are the ones the broadcast page encodes with (a decoder accepts any stream of the same
 * codec within the profile/level it was configured for, so one string per codec is enough). H.264
 * comes in Annex B (the broadcaster's encoder runs with `avc: { format: 'annexb' }`): no
 * `description`, the parameter sets travel in the keyframes. `optimizeForLatency` asks the decoder
 * to hand each picture out as soon as it is decoded instead of filling its reorder queue first — for a
 * live player that is tens of milliseconds of glass-to-glass latency.
 */
import type { Codec } from '../../../protocol/media-frame.js';

export type VideoCodec = Extract<Codec, 'vp8' | 'vp9' | 'av1' | 'h264'>;

export const VIDEO_CODEC_STRINGS = {
  vp8: 'vp8',
  vp9: 'vp09.00.10.08',
  av1: 'av01.0.04M.08',
  h264: 'avc1.42E01F',
} as const satisfies Record<VideoCodec, string>;

export function isVideoCodec(codec: Codec): codec is VideoCodec {
  return Object.hasOwn(VIDEO_CODEC_STRINGS, codec);
}

export function videoDecoderConfig(codec: VideoCodec): VideoDecoderConfig {
  return { codec: VIDEO_CODEC_STRINGS[codec], optimizeForLatency: true, hardwareAcceleration: 'no-preference' };
}

/**
 * Opus at 48 kHz. Two channels declared: an Opus packet carries its own channel layout, and the
 * decoder up-mixes a mono packet, so a mono or stereo broadcaster both decode with this one config.
 */
export const OPUS_DECODER_CONFIG: AudioDecoderConfig = { codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 };
