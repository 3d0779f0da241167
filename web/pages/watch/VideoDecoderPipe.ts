/**
 * Encoded video frames in, decoded VideoFrames out, and the one rule a live video decoder lives by: a
 * delta frame is only decodable when every frame since the last keyframe reached the decoder. So the
 * pipe drops video until the next keyframe
 * - at the start (until the first keyframe configures the decoder),
 * - after `discontinuity()` (the owner saw a sequence gap — on a seq shared by every kind the missing
 *   frame may have been video — or a rejoin to another unit),
 * - after a decoder error (the decoder is closed by WebCodecs then; a new one starts at a keyframe),
 * - after a codec change (a new decoder for the new codec),
 * - when the decoder falls behind (a queue of undecoded frames only adds latency: start over fresh),
 * and asks for a keyframe each time it drops one (`needKeyframe`; the owner rate-limits the request).
 *
 * The decoder's output goes to `frame` unchanged: the receiver owns each VideoFrame and must close it.
 */
import type { Frame } from '../../../protocol/media-frame.js';
import { isVideoCodec, videoDecoderConfig, type VideoCodec } from './codecs.js';

export interface VideoDecoderPipeHandlers {
  frame(frame: VideoFrame): void;
  /** an encoded frame could not be decoded and was dropped (waiting for a keyframe) */
  dropped(): void;
  needKeyframe(): void;
  /** something the user should see: an unsupported codec, a decoder that fails */
  problem(message: string): void;
}

/**
 * Undecoded chunks beyond which the decoder is behind for good: start over at a keyframe. Three
 * seconds of video at 30 fps, above a GOP's worth arriving at once — a new viewer gets the frames
 * since the unit's newest keyframe in one burst, and every one of them must be decoded to show the
 * newest (the renderer drops the stale pictures that come out).
 */
const MAX_DECODE_QUEUE = 90;

export class VideoDecoderPipe {
  readonly #handlers: VideoDecoderPipeHandlers;
  #decoder: VideoDecoder | null = null;
  #codec: VideoCodec | null = null;
  #awaitingKeyframe = true;
  /** codecs this browser refused: not tried again (every keyframe would fail the same way) */
  readonly #unsupported = new Set<VideoCodec>();
  #errors = 0;

  constructor(handlers: VideoDecoderPipeHandlers) {
    this.#handlers = handlers;
  }

  get errors(): number {
    return this.#errors;
  }

  push(frame: Frame): void {
    const codec = frame.codec;
    if (!isVideoCodec(codec)) return;
    if (codec !== this.#codec) {
      this.#closeDecoder();
      this.#codec = codec;
      this.#awaitingKeyframe = true;
    }
    if (this.#unsupported.has(codec)) return this.#handlers.dropped();
    if (this.#awaitingKeyframe) {
      if (!frame.keyframe) {
        this.#handlers.dropped();
        this.#handlers.needKeyframe();
        return;
      }
      if (!this.#decoder && !this.#open(codec)) return this.#handlers.dropped();
      this.#awaitingKeyframe = false;
    }
    const decoder = this.#decoder!;
    if (decoder.decodeQueueSize > MAX_DECODE_QUEUE) {
      this.#restart();
      return this.#handlers.dropped();
    }
    try {
      decoder.decode(new EncodedVideoChunk({ type: frame.keyframe ? 'key' : 'delta', timestamp: frame.timestamp, data: frame.payload }));
    } catch (error) {
      // decode() throws synchronously on a closed decoder or a first chunk that is not a key chunk.
      this.#failed(error);
      this.#handlers.dropped();
    }
  }

  /** Frames may be missing before the next one: wait for a keyframe. `reset`: a new decoder too (a rejoin). */
  discontinuity(reset = false): void {
    this.#awaitingKeyframe = true;
    if (reset) this.#closeDecoder();
  }

  close(): void {
    this.#closeDecoder();
    this.#codec = null;
  }

  #open(codec: VideoCodec): boolean {
    if (typeof VideoDecoder === 'undefined') {
      this.#unsupported.add(codec);
      this.#handlers.problem('this browser has no WebCodecs VideoDecoder');
      return false;
    }
    const decoder: VideoDecoder = new VideoDecoder({
      output: (picture) => {
        // Output still queued from a decoder we replaced: not ours any more.
        if (decoder !== this.#decoder) return picture.close();
        this.#handlers.frame(picture);
      },
      error: (error) => {
        if (decoder !== this.#decoder) return;
        this.#failed(error);
      },
    });
    try {
      decoder.configure(videoDecoderConfig(codec));
    } catch (error) {
      // configure() throws only for a malformed config; an unsupported one comes through `error`.
      this.#unsupported.add(codec);
      this.#handlers.problem(`cannot decode ${codec}: ${String(error)}`);
      return false;
    }
    this.#decoder = decoder;
    return true;
  }

  /** The decoder failed (WebCodecs has closed it): the next keyframe starts a new one. */
  #failed(error: unknown): void {
    this.#errors++;
    const codec = this.#codec;
    if (error instanceof DOMException && error.name === 'NotSupportedError' && codec) {
      this.#unsupported.add(codec);
      this.#handlers.problem(`this browser cannot decode ${codec} video`);
    }
    this.#decoder = null;
    this.#restart();
  }

  #restart(): void {
    this.#closeDecoder();
    this.#awaitingKeyframe = true;
    this.#handlers.needKeyframe();
  }

  #closeDecoder(): void {
    const decoder = this.#decoder;
    this.#decoder = null;
    if (decoder && decoder.state !== 'closed') decoder.close();
  }
}
