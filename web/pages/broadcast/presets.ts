/**
 * What the broadcaster can pick: a quality preset (the camera resolution asked for and the video
 * bitrate) and a video codec. Declared once here so the form, the capture constraints and the encoder
 * configuration agree. Codec names map the WebCodecs codec string to the protocol's short name that
 * travels in every frame (protocol/media-frame.ts Codec); the player maps it back.
 */
import { Codec } from '../../../protocol/media-frame.js';

export interface Preset {
  id: string;
  label: string;
  width: number;
  height: number;
  /** video bits per second at the preset's full resolution */
  bitrate: number;
}

export const PRESETS: readonly Preset[] = [
  { id: '360p', label: '360p · 0.8 Mbit/s', width: 640, height: 360, bitrate: 800_000 },
  { id: '720p', label: '720p · 2.5 Mbit/s', width: 1280, height: 720, bitrate: 2_500_000 },
  { id: '1080p', label: '1080p · 4.5 Mbit/s', width: 1920, height: 1080, bitrate: 4_500_000 },
];
export const DEFAULT_PRESET = '720p';

export function presetById(id: string): Preset {
  return PRESETS.find((p) => p.id === id) ?? PRESETS.find((p) => p.id === DEFAULT_PRESET)!;
}

export const FRAME_RATE = 30;
export const AUDIO_BITRATE = 64_000;
export const AUDIO_SAMPLE_RATE = 48_000;

export type VideoCodecName = typeof Codec.VP8 | typeof Codec.H264 | typeof Codec.VP9 | typeof Codec.AV1;

export interface VideoCodecChoice {
  /** the protocol's name, also the value of the codec select and of `?codec=` */
  name: VideoCodecName;
  label: string;
  /** the WebCodecs codec string for a picture of this size */
  codecString(width: number, height: number): string;
  /** extra VideoEncoderConfig members the codec needs */
  extra?: Partial<VideoEncoderConfig>;
}

/** In the order the select lists them; the first supported one is the default. */
export const VIDEO_CODECS: readonly VideoCodecChoice[] = [
  { name: Codec.VP8, label: 'VP8', codecString: () => 'vp8' },
  {
    name: Codec.H264,
    label: 'H.264',
    // Constrained Baseline. Level 3.1 (1F) stops at 1280×720 (3,600 macroblocks), and Chromium refuses
    // a larger picture at that level, so 1080p asks for level 4.0 (28).
    codecString: (w, h) => (Math.ceil(w / 16) * Math.ceil(h / 16) <= 3600 ? 'avc1.42E01F' : 'avc1.42E028'),
    // Annex B carries SPS/PPS in band, so the player needs no separate decoder description.
    extra: { avc: { format: 'annexb' } },
  },
  { name: Codec.VP9, label: 'VP9', codecString: () => 'vp09.00.10.08' },
  { name: Codec.AV1, label: 'AV1', codecString: () => 'av01.0.04M.08' },
];
export const DEFAULT_CODEC: VideoCodecName = Codec.VP8;

export function codecByName(name: string): VideoCodecChoice | undefined {
  return VIDEO_CODECS.find((c) => c.name === name);
}

/**
 * The bitrate for the picture the camera really gives: a camera that cannot do the preset's size
 * gets the preset's bits per pixel, not its full budget (an operator would not spend 2.5 Mbit/s on
 * 640×480). Never below a quarter of the preset, where small pictures start to look worse than they need.
 */
export function bitrateFor(preset: Preset, width: number, height: number): number {
  const share = Math.min(1, (width * height) / (preset.width * preset.height));
  return Math.round(preset.bitrate * Math.max(0.25, share));
}

export function videoEncoderConfig(codec: VideoCodecChoice, preset: Preset, width: number, height: number): VideoEncoderConfig {
  return {
    codec: codec.codecString(width, height),
    width,
    height,
    bitrate: bitrateFor(preset, width, height),
    framerate: FRAME_RATE,
    // Realtime: the encoder favours speed and steady latency over quality, and may drop frames
    // itself rather than fall behind the camera.
    latencyMode: 'realtime',
    bitrateMode: 'variable',
    ...codec.extra,
  };
}

/** The codecs this browser can encode at the default preset's size, in VIDEO_CODECS order. */
export async function supportedVideoCodecs(): Promise<VideoCodecChoice[]> {
  const preset = presetById(DEFAULT_PRESET);
  const answers = await Promise.all(
    VIDEO_CODECS.map(async (codec) => {
      try {
        const { supported } = await VideoEncoder.isConfigSupported(videoEncoderConfig(codec, preset, preset.width, preset.height));
        return supported === true;
      } catch {
        return false;
      }
    }),
  );
  return VIDEO_CODECS.filter((_, i) => answers[i]);
}
