/**
 * Encoded Opus frames in, decoded AudioData out. Every Opus packet decodes on its own (no keyframes),
 * so a lost packet costs only its own 10–20 ms; after a decoder error the next packet starts a new
 * decoder. The receiver owns each AudioData and must close it.
 *
 * The output's timestamp is the frame's, carried alongside: Chromium's AudioDecoder does not copy
 * the input timestamp to each output — it counts samples from the first chunk it decoded — so after
 * a catch-up burst or a lost packet its timestamps drift from the broadcaster's capture stamps, which
 * are what the player schedules by. One Opus packet gives one output, in order: a queue pairs them.
 */
import type { Frame } from '../../../protocol/media-frame.js';
import { OPUS_DECODER_CONFIG } from './codecs.js';

export interface AudioDecoderPipeHandlers {
  /** `timestampUs`: the frame's capture stamp (not `data.timestamp`) */
  audio(data: AudioData, timestampUs: number): void;
  problem(message: string): void;
}

/** undecoded packets beyond which the decoder is behind: drop rather than queue (audio is played live) */
const MAX_DECODE_QUEUE = 25;

export class AudioDecoderPipe {
  readonly #handlers: AudioDecoderPipeHandlers;
  #decoder: AudioDecoder | null = null;
  #unsupported = false;
  #errors = 0;
  /** stamps of the packets in the decoder, oldest first */
  #stamps: number[] = [];

  constructor(handlers: AudioDecoderPipeHandlers) {
    this.#handlers = handlers;
  }

  get errors(): number {
    return this.#errors;
  }

  push(frame: Frame): void {
    if (frame.codec !== 'opus' || this.#unsupported) return;
    const decoder = this.#decoder ?? this.#open();
    if (!decoder || decoder.decodeQueueSize > MAX_DECODE_QUEUE) return;
    try {
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: frame.timestamp, data: frame.payload }));
      this.#stamps.push(frame.timestamp);
    } catch (error) {
      this.#failed(decoder, error);
    }
  }

  /** A new decoder from the next packet on (a rejoin: nothing of the old stream is still wanted). */
  reset(): void {
    this.close();
  }

  close(): void {
    const decoder = this.#decoder;
    this.#decoder = null;
    this.#stamps = [];
    if (decoder && decoder.state !== 'closed') decoder.close();
  }

  #open(): AudioDecoder | null {
    if (typeof AudioDecoder === 'undefined') {
      this.#unsupported = true;
      this.#handlers.problem('this browser has no WebCodecs AudioDecoder');
      return null;
    }
    const decoder: AudioDecoder = new AudioDecoder({
      output: (data) => {
        if (decoder !== this.#decoder) return data.close();
        const stamp = this.#stamps.shift();
        this.#handlers.audio(data, stamp ?? data.timestamp);
      },
      error: (error) => this.#failed(decoder, error),
    });
    try {
      decoder.configure(OPUS_DECODER_CONFIG);
    } catch (error) {
      this.#unsupported = true;
      this.#handlers.problem(`cannot decode opus: ${String(error)}`);
      return null;
    }
    this.#decoder = decoder;
    return decoder;
  }

  #failed(decoder: AudioDecoder, error: unknown): void {
    if (decoder !== this.#decoder) return;
    this.#errors++;
    if (error instanceof DOMException && error.name === 'NotSupportedError') {
      this.#unsupported = true;
      this.#handlers.problem('this browser cannot decode opus audio');
    }
    this.close();
  }
}
