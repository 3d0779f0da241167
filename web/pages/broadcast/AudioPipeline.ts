/**
 * Microphone track → AudioData → AudioEncoder (Opus) → encoded chunks with capture stamps.
 *
 * The encoder is configured on the first AudioData, with its channel count and sample rate (48 kHz
 * from every microphone Chromium opens; Opus carries any of them), and made anew when those change
 * (another microphone). The raw AudioData goes to the encoder as it is — no copy — and AudioStamps
 * turns each Opus chunk back into the capture stamp of its first sample.
 */
import { CaptureStamps } from '../shared/capture-clock.js';
import { AUDIO_BITRATE } from './presets.js';
import { AudioStamps } from './AudioStamps.js';
import { TrackReader } from './TrackReader.js';

/** Opus frames queued in the encoder before new input is dropped (10 ms each: 200 ms). */
const MAX_ENCODE_QUEUE = 20;
/** Chromium's Opus frame when a chunk does not say */
const DEFAULT_CHUNK_US = 20_000;
const MAX_ERRORS = 3;
const ERROR_WINDOW_MS = 10_000;

export interface AudioPipelineOptions {
  /** an Opus chunk and the capture stamp of its first sample (µs since the epoch) */
  onChunk: (chunk: EncodedAudioChunk, stamp: number) => void;
  onDropped: () => void;
  onFatal: (error: Error) => void;
}

export class AudioPipeline {
  readonly #options: AudioPipelineOptions;
  readonly #captureStamps = new CaptureStamps();
  readonly #stamps = new AudioStamps();
  #reader: TrackReader<AudioData> | null = null;
  #encoder: AudioEncoder | null = null;
  #format = '';
  #closed = false;
  #errors: number[] = [];

  constructor(options: AudioPipelineOptions) {
    this.#options = options;
  }

  attach(track: MediaStreamTrack): void {
    if (this.#closed) return;
    this.#reader?.stop();
    // Half a second of slack: a main thread busy for a moment must not cut the sound.
    this.#reader = new TrackReader<AudioData>(track, this.#captureStamps, (data, stamp) => this.#encode(data, stamp), { maxBufferSize: 50 });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.stop();
    this.#reader = null;
    this.#closeEncoder();
  }

  #encode(data: AudioData, stamp: number): void {
    try {
      if (this.#closed) return;
      const encoder = this.#encoderFor(data);
      if (!encoder) return;
      if (encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
        this.#options.onDropped();
        return;
      }
      encoder.encode(data);
      this.#stamps.add(stamp, (data.numberOfFrames / data.sampleRate) * 1_000_000);
    } catch (error) {
      // The encoder closed itself since the check above (its error callback runs too).
      this.#failed(error instanceof Error ? error : new Error(String(error)));
    } finally {
      data.close();
    }
  }

  #encoderFor(data: AudioData): AudioEncoder | null {
    const format = `${data.sampleRate}/${data.numberOfChannels}`;
    if (this.#encoder?.state === 'configured' && format === this.#format) return this.#encoder;
    this.#closeEncoder();
    // A new encoder is a new stream: its chunks count from its first input.
    this.#stamps.reset();
    const encoder: AudioEncoder = new AudioEncoder({
      output: (chunk) => {
        if (this.#closed || encoder !== this.#encoder) return;
        this.#options.onChunk(chunk, this.#stamps.next(chunk.duration ?? DEFAULT_CHUNK_US));
      },
      // An error of an encoder already replaced is old news.
      error: (error) => encoder === this.#encoder && this.#failed(error),
    });
    this.#encoder = encoder;
    this.#format = format;
    try {
      encoder.configure({ codec: 'opus', sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels, bitrate: AUDIO_BITRATE });
    } catch (error) {
      this.#failed(error instanceof Error ? error : new Error(String(error)));
      return null;
    }
    return encoder;
  }

  #failed(error: Error): void {
    if (this.#closed) return;
    this.#closeEncoder();
    const now = performance.now();
    this.#errors = [...this.#errors.filter((t) => now - t < ERROR_WINDOW_MS), now];
    console.warn('audio encoder error', error);
    if (this.#errors.length >= MAX_ERRORS) {
      this.close();
      this.#options.onFatal(new Error(`The Opus encoder failed (${error.message}).`));
    }
  }

  #closeEncoder(): void {
    const encoder = this.#encoder;
    this.#encoder = null;
    this.#format = '';
    if (encoder && encoder.state !== 'closed') encoder.close();
  }
}
