/**
 * A synthetic stream for the client tests (a video frame, keyframe every 30 or right after the
 * publisher reconnects, and an audio frame every 5 ms of random bytes), and checks on what viewers got.
 */
import { randomBytes } from 'node:crypto';
import { Codec, FrameKind, type Frame } from '../../protocol/media-frame.js';
import type { Publisher } from '../../web/client/Publisher.js';
import type { Viewer } from '../../web/client/Viewer.js';

export interface Received {
  seq: number;
  kind: number;
  keyframe: boolean;
  payload: Uint8Array;
  unitId: string;
}

/** A synthetic stream: a video frame (keyframe every 30, or on demand) and an audio frame every tick. */
export class SyntheticSource {
  readonly sent = new Map<number, Uint8Array>();
  #seq = 0;
  #video = 0;
  #forceKey = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(private readonly publisher: Publisher) {
    this.#timer = setInterval(() => this.#tick(), 5);
    // The client's contract: send a keyframe right after `reconnected`.
    publisher.events.on('reconnected', () => {
      this.#forceKey = true;
    });
  }

  #tick(): void {
    const keyframe = this.#forceKey || this.#video % 30 === 0;
    this.#video++;
    if (this.#send({ kind: FrameKind.VIDEO, keyframe, codec: Codec.VP8, payload: randomBytes(keyframe ? 3000 : 300 + (this.#seq % 500)) }) && keyframe) this.#forceKey = false;
    this.#send({ kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: randomBytes(60) });
  }

  #send(part: Pick<Frame, 'kind' | 'keyframe' | 'codec' | 'payload'>): boolean {
    const seq = this.#seq++;
    const ok = this.publisher.send({ channel: this.publisher.channelId, seq, timestamp: seq * 5000, ...part });
    if (ok) this.sent.set(seq, part.payload);
    return ok;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export function watch(viewer: Viewer): Received[] {
  const received: Received[] = [];
  viewer.events.on('frame', (f) => received.push({ seq: f.seq, kind: f.kind, keyframe: f.keyframe, payload: f.payload, unitId: viewer.join!.unitId }));
  return received;
}

export const videoCount = (frames: Received[]): number => frames.filter((f) => f.kind === FrameKind.VIDEO).length;

export { assertInOrderAndIdentical } from '../support/frame-checks.js';

