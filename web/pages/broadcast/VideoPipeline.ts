/**
 * Camera track → VideoFrame → VideoEncoder → encoded chunks, for one broadcast.
 *
 * - Each raw frame is re-wrapped as a VideoFrame whose timestamp is its capture stamp (no pixel copy:
 *   the new frame shares the old one's buffer), so every chunk the encoder returns carries the capture
 *   time in `chunk.timestamp`, whatever the encoder keeps or drops.
 * - The encoder is configured from the first frame's real size (the camera may not give the preset's)
 *   and again whenever the size changes (another camera).
 * - Backpressure: when the encoder holds more than MAX_ENCODE_QUEUE frames the new raw frame is dropped
 *   — falling behind the camera would only add latency.
 * - Keyframes: every KEYFRAME_INTERVAL_US of capture time, and on requestKeyframe() (a reconnect, a
 *   viewer that lost video). A forced keyframe not yet out of the encoder is not asked for twice.
 */
import { CaptureStamps } from '../shared/capture-clock.js';
import { videoEncoderConfig, type Preset, type VideoCodecChoice } from './presets.js';
import { TrackReader } from './TrackReader.js';

const MAX_ENCODE_QUEUE = 2;
export const KEYFRAME_INTERVAL_US = 2_000_000;
/** a forced keyframe that has not come out after this long was dropped by the encoder: ask again */
const KEYFRAME_OUTSTANDING_US = 1_000_000;
/** encoder failures within ERROR_WINDOW_MS before the pipeline gives up instead of starting a new one */
const MAX_ERRORS = 3;
const ERROR_WINDOW_MS = 10_000;

export interface VideoPipelineOptions {
  codec: VideoCodecChoice;
  preset: Preset;
  /** an encoded chunk; `chunk.timestamp` is its capture stamp (µs since the epoch) */
  onChunk: (chunk: EncodedVideoChunk) => void;
  /** a raw frame dropped before the encoder (backpressure) */
  onDropped: () => void;
  /** the encoder failed for good */
  onFatal: (error: Error) => void;
  /** the picture being encoded changed (size, codec string, bitrate) */
  onConfigured?: (config: VideoEncoderConfig) => void;
}

export class VideoPipeline {
  readonly #options: VideoPipelineOptions;
  readonly #stamps = new CaptureStamps();
  #reader: TrackReader<VideoFrame> | null = null;
  #encoder: VideoEncoder | null = null;
  #config: VideoEncoderConfig | null = null;
  #closed = false;
  #keyPending = true;
  /** capture stamp of the forced keyframe not yet out of the encoder, or -1 */
  #keyOutstandingSince = -1;
  #lastKeyAt = -Infinity;
  #errors: number[] = [];

  constructor(options: VideoPipelineOptions) {
    this.#options = options;
  }

  get config(): VideoEncoderConfig | null {
    return this.#config;
  }

  /** Encodes this track's frames from now on (replacing the previous track's). */
  attach(track: MediaStreamTrack): void {
    if (this.#closed) return;
    this.#reader?.stop();
    // One raw frame of slack: the encoder queue, not the processor, is where lateness is judged.
    this.#reader = new TrackReader<VideoFrame>(track, this.#stamps, (frame, stamp) => this.#encode(frame, stamp), { maxBufferSize: 1 });
    this.requestKeyframe();
  }

  /** The next frame is encoded as a keyframe (unless one asked for is still on its way). */
  requestKeyframe(): void {
    if (this.#keyOutstandingSince < 0) this.#keyPending = true;
  }

  /** Stops reading and encoding; chunks still in the encoder are discarded. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.stop();
    this.#reader = null;
    this.#closeEncoder();
  }

  #encode(raw: VideoFrame, stamp: number): void {
    if (this.#closed) return raw.close();
    // Even dimensions: 4:2:0 codecs (H.264 above all) refuse odd ones.
    const width = raw.displayWidth & ~1;
    const height = raw.displayHeight & ~1;
    const encoder = this.#encoderFor(width, height);
    if (!encoder) return raw.close();
    if (encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
      raw.close();
      this.#options.onDropped();
      return;
    }
    if (this.#keyOutstandingSince >= 0 && stamp - this.#keyOutstandingSince > KEYFRAME_OUTSTANDING_US) {
      this.#keyOutstandingSince = -1;
      this.#keyPending = true;
    }
    const keyFrame = this.#keyPending || stamp - this.#lastKeyAt >= KEYFRAME_INTERVAL_US;
    const frame = new VideoFrame(raw, { timestamp: stamp });
    raw.close();
    try {
      encoder.encode(frame, { keyFrame });
    } catch (error) {
      // The encoder closed itself since the check above (its error callback runs too).
      return this.#failed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      frame.close();
    }
    if (keyFrame) {
      this.#keyPending = false;
      this.#keyOutstandingSince = stamp;
      this.#lastKeyAt = stamp;
    }
  }

  /** The encoder for frames of this size: configured (again) when the size changed. */
  #encoderFor(width: number, height: number): VideoEncoder | null {
    if (this.#encoder?.state === 'configured' && this.#config?.width === width && this.#config.height === height) return this.#encoder;
    if (!this.#encoder || this.#encoder.state === 'closed') {
      const encoder: VideoEncoder = new VideoEncoder({
        output: (chunk) => this.#output(chunk),
        // An error of an encoder already replaced is old news.
        error: (error) => encoder === this.#encoder && this.#failed(error),
      });
      this.#encoder = encoder;
    }
    const { codec, preset } = this.#options;
    this.#config = videoEncoderConfig(codec, preset, width, height);
    try {
      this.#encoder.configure(this.#config);
    } catch (error) {
      this.#failed(error instanceof Error ? error : new Error(String(error)));
      return null;
    }
    // A configure starts a new stream: its first frame is a keyframe anyway; make it the one we count.
    this.#keyPending = true;
    this.#keyOutstandingSince = -1;
    this.#options.onConfigured?.(this.#config);
    return this.#encoder;
  }

  #output(chunk: EncodedVideoChunk): void {
    if (this.#closed) return;
    if (chunk.type === 'key') {
      this.#keyOutstandingSince = -1;
      this.#lastKeyAt = Math.max(this.#lastKeyAt, chunk.timestamp);
    }
    this.#options.onChunk(chunk);
  }

  /** An encoder error closes the encoder: start a new one on the next frame, unless it keeps failing. */
  #failed(error: Error): void {
    if (this.#closed) return;
    this.#closeEncoder();
    const now = performance.now();
    this.#errors = [...this.#errors.filter((t) => now - t < ERROR_WINDOW_MS), now];
    console.warn('video encoder error', error);
    if (this.#errors.length >= MAX_ERRORS) {
      const { codec, preset } = this.#options;
      const size = this.#config ? `${this.#config.width}×${this.#config.height}` : preset.id;
      this.close();
      this.#options.onFatal(new Error(`The ${codec.label} encoder failed at ${size} (${error.message}). Try another codec or preset.`));
    }
  }

  #closeEncoder(): void {
    const encoder = this.#encoder;
    this.#encoder = null;
    this.#config = null;
    if (encoder && encoder.state !== 'closed') encoder.close();
  }
}
