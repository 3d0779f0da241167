/**
 * The broadcaster of the lab client: opens a channel through the CSM (through the VIP) with
 * web/client's Publisher over `ws`, and sends a synthetic stream: a video frame every 33 ms (30 fps,
 * a keyframe every 30 frames and right after the publisher reconnects) and an audio frame every 20 ms
 * (50 fps), so frames of one kind or the other reach a viewer at most ~20 ms apart when nothing is
 * wrong. Payloads are slices of one random buffer: their content is not what these tests check.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { Codec, FrameKind, type Frame } from '../../../protocol/media-frame.js';
import type { CsmApi } from '../../../web/client/CsmApi.js';
import { Publisher } from '../../../web/client/Publisher.js';
import { emit, note } from './output.js';

export const VIDEO_INTERVAL_MS = 33;
export const AUDIO_INTERVAL_MS = 20;
const KEYFRAME_EVERY = 30;
const PAYLOAD = randomBytes(8192);

export interface StreamOptions {
  api: CsmApi;
  title: string;
  /** give up opening the channel after this long (the CSM may be between actives) */
  openTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export class SyntheticStream {
  readonly publisher: Publisher;
  #seq = 0;
  #video = 0;
  #forceKey = false;
  #sent = 0;
  #dropped = 0;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #startedAt = Date.now();

  private constructor(publisher: Publisher) {
    this.publisher = publisher;
    const events = publisher.events;
    events.on('connected', (grant) => emit({ t: 'publisher', ev: 'connected', channelId: publisher.channelId, unitId: grant.unitId }));
    events.on('reconnected', (grant) => {
      this.#forceKey = true; // the client's contract: a keyframe right after `reconnected`
      emit({ t: 'publisher', ev: 'reconnected', unitId: grant.unitId });
    });
    events.on('disconnected', (code, reason) => emit({ t: 'publisher', ev: 'disconnected', code, reason }));
    events.on('closed', (code, reason) => emit({ t: 'publisher', ev: 'closed', code, reason }));
    events.on('keyframeRequested', () => {
      this.#forceKey = true;
    });
    this.#timers.push(setInterval(() => this.#videoTick(), VIDEO_INTERVAL_MS), setInterval(() => this.#audioTick(), AUDIO_INTERVAL_MS));
  }

  /** Opens the channel (retrying while the CSM answers retryably) and starts sending. */
  static async start(options: StreamOptions): Promise<SyntheticStream> {
    const deadline = Date.now() + options.openTimeoutMs;
    for (;;) {
      try {
        const publisher = await Publisher.open(
          { api: options.api, WebSocket, maxAttempts: 1000, reconnectMinMs: options.reconnectMinMs, reconnectMaxMs: options.reconnectMaxMs },
          { title: options.title, broadcaster: 'lab-client' },
        );
        return new SyntheticStream(publisher);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        note(`opening the channel failed, retrying: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  get stats(): { channelId: number; state: string; unitId: string | null; framesSent: number; framesDropped: number; failures: number; uptimeMs: number } {
    return {
      channelId: this.publisher.channelId,
      state: this.publisher.state,
      unitId: this.publisher.grant?.unitId ?? null,
      framesSent: this.#sent,
      framesDropped: this.#dropped,
      failures: this.publisher.stats.failures,
      uptimeMs: Date.now() - this.#startedAt,
    };
  }

  #videoTick(): void {
    const keyframe = this.#forceKey || this.#video % KEYFRAME_EVERY === 0;
    this.#video++;
    const size = keyframe ? 4000 : 400 + (this.#video % 7) * 100;
    if (this.#send({ kind: FrameKind.VIDEO, keyframe, codec: Codec.VP8, payload: PAYLOAD.subarray(0, size) }) && keyframe) this.#forceKey = false;
  }

  #audioTick(): void {
    this.#send({ kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: PAYLOAD.subarray(0, 80) });
  }

  #send(part: Pick<Frame, 'kind' | 'keyframe' | 'codec' | 'payload'>): boolean {
    const seq = this.#seq;
    const timestamp = (Date.now() - this.#startedAt) * 1000;
    const ok = this.publisher.send({ channel: this.publisher.channelId, seq, timestamp, ...part });
    // A frame the publisher could not send (away between units) takes no sequence number, so a
    // viewer's sequence gaps count frames lost on the way, not frames never sent.
    if (ok) {
      this.#seq = (this.#seq + 1) >>> 0;
      this.#sent++;
    } else this.#dropped++;
    return ok;
  }

  close(): void {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.publisher.close();
  }
}
