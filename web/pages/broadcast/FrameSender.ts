/**
 * Turns encoded chunks into protocol Frames and hands them to the Publisher.
 *
 * - `seq`: one counter for the channel, every kind, uint32 wrapping; it advances only for frames the
 *   Publisher took, so the player's gap detection sees real loss, and it goes on across reconnects.
 * - `timestamp`: the capture stamp, kept strictly increasing per kind.
 * - The keyframe gate: after a frame could not be sent (the unit is gone) or after a reconnect, video
 *   resumes only with a keyframe — a decoder cannot start mid-GOP, and the new unit's viewers start
 *   at its newest keyframe. Delta frames before it are dropped and a keyframe is asked for.
 */
import { Codec, FrameKind, type Frame } from '../../../protocol/media-frame.js';
import type { BroadcastStatsFields } from './BroadcastStats.js';
import type { VideoCodecName } from './presets.js';

export interface FrameSink {
  readonly channelId: number;
  send(frame: Frame): boolean;
}

export class FrameSender {
  readonly #sink: FrameSink;
  readonly #stats: BroadcastStatsFields;
  readonly #wantKeyframe: () => void;
  #seq = 0;
  #videoNeedsKey = true;
  #lastVideoTs = -1;
  #lastAudioTs = -1;

  constructor(sink: FrameSink, stats: BroadcastStatsFields, wantKeyframe: () => void) {
    this.#sink = sink;
    this.#stats = stats;
    this.#wantKeyframe = wantKeyframe;
  }

  get seq(): number {
    return this.#seq;
  }

  /** After a (re)connect: video waits for a keyframe. */
  resync(): void {
    this.#videoNeedsKey = true;
  }

  sendVideo(chunk: EncodedVideoChunk, codec: VideoCodecName): void {
    const keyframe = chunk.type === 'key';
    if (this.#videoNeedsKey && !keyframe) {
      this.#stats.droppedFrames++;
      this.#wantKeyframe();
      return;
    }
    const timestamp = (this.#lastVideoTs = Math.max(chunk.timestamp, this.#lastVideoTs + 1));
    if (this.#send(FrameKind.VIDEO, codec, keyframe, timestamp, chunk)) {
      this.#stats.videoFrames++;
      if (keyframe) this.#stats.keyframes++;
      this.#videoNeedsKey = false;
    } else {
      this.#videoNeedsKey = true;
    }
  }

  sendAudio(chunk: EncodedAudioChunk, stamp: number): void {
    const timestamp = (this.#lastAudioTs = Math.max(stamp, this.#lastAudioTs + 1));
    if (this.#send(FrameKind.AUDIO, Codec.OPUS, true, timestamp, chunk)) this.#stats.audioFrames++;
  }

  #send(kind: FrameKind, codec: Codec, keyframe: boolean, timestamp: number, chunk: EncodedVideoChunk | EncodedAudioChunk): boolean {
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    let sent: boolean;
    try {
      sent = this.#sink.send({ channel: this.#sink.channelId, seq: this.#seq, timestamp, kind, keyframe, codec, payload });
    } catch (error) {
      // A frame the protocol refuses (larger than MAX_FRAME_BYTES): skip it, never break the stream.
      console.warn('frame not sent', error);
      sent = false;
    }
    if (!sent) {
      this.#stats.droppedFrames++;
      return false;
    }
    this.#seq = (this.#seq + 1) >>> 0;
    this.#stats.framesSent++;
    return true;
  }
}
