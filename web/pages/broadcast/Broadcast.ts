/**
 * One broadcast, from Go live to End: the Publisher (web/client), the two encoding pipelines and the
 * FrameSender between them, the keyframe policy, and the figures (viewers from the API, the sent
 * bitrate). The page owns the camera; it hands the tracks in and can swap them while live.
 *
 * States: connecting → live ⇄ reconnecting → ended, or error (the Publisher gave up, an encoder
 * failed for good). Losing the unit is not an error: the Publisher asks the API where to publish and
 * reconnects; capture and encoding go on meanwhile, and the first video frame on the new unit is a
 * keyframe.
 */
import { CsmApi } from '../../../web/client/CsmApi.js';
import { Publisher } from '../../../web/client/Publisher.js';
import { TypedEmitter } from '../../../web/client/TypedEmitter.js';
import type { ChatLine } from '../shared/ChatPanel.js';
import { AudioPipeline } from './AudioPipeline.js';
import { BitrateMeter, type BroadcastStatsFields } from './BroadcastStats.js';
import { FrameSender } from './FrameSender.js';
import type { Preset, VideoCodecChoice } from './presets.js';
import { VideoPipeline } from './VideoPipeline.js';

export type BroadcastState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

export type BroadcastEvents = {
  /** the state and, for `error`, why */
  state: [BroadcastState, string];
  chat: [ChatLine];
  /** the encoder's picture changed (shown as "1280×720 · VP8 · 2.5 Mbit/s") */
  video: [VideoEncoderConfig];
};

export interface BroadcastOptions {
  title: string;
  broadcaster: string;
  codec: VideoCodecChoice;
  preset: Preset;
  video: MediaStreamTrack;
  audio: MediaStreamTrack | null;
  /** changed in place as things happen */
  stats: BroadcastStatsFields;
}

/** a viewer's keyframe request is honoured at most this often */
const VIEWER_KEYFRAME_MIN_INTERVAL_MS = 500;
const VIEWERS_POLL_MS = 2000;
const BITRATE_SAMPLE_MS = 500;

export class Broadcast {
  readonly events = new TypedEmitter<BroadcastEvents>((error) => console.error('broadcast listener failed', error));
  readonly publisher: Publisher;
  readonly #api: CsmApi;
  readonly #stats: BroadcastStatsFields;
  readonly #video: VideoPipeline;
  readonly #audio: AudioPipeline;
  readonly #sender: FrameSender;
  readonly #bitrate = new BitrateMeter();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #state: BroadcastState = 'connecting';
  #tracks: { video: MediaStreamTrack; audio: MediaStreamTrack | null };
  /** encoding starts once the first unit accepted the socket: frames before it could not be sent */
  #encoding = false;
  #lastViewerKeyframe = -Infinity;

  /** Opens the channel (throws when the API refuses) and starts encoding and publishing. */
  static async start(options: BroadcastOptions): Promise<Broadcast> {
    const api = new CsmApi({ baseUrl: location.origin });
    const publisher = await Publisher.open({ api, WebSocket }, { title: options.title, broadcaster: options.broadcaster });
    return new Broadcast(api, publisher, options);
  }

  private constructor(api: CsmApi, publisher: Publisher, options: BroadcastOptions) {
    this.#api = api;
    this.publisher = publisher;
    this.#stats = options.stats;
    this.#sender = new FrameSender(publisher, options.stats, () => {
      // While away every frame fails to send: asking for keyframes then would only waste bits.
      if (publisher.state === 'open') this.#video.requestKeyframe();
    });
    const codec = options.codec;
    this.#video = new VideoPipeline({
      codec,
      preset: options.preset,
      onChunk: (chunk) => this.#sender.sendVideo(chunk, codec.name),
      onDropped: () => this.#stats.droppedFrames++,
      onFatal: (error) => this.#fail(error.message),
      onConfigured: (config) => this.events.safeEmit('video', config),
    });
    this.#audio = new AudioPipeline({
      onChunk: (chunk, stamp) => this.#sender.sendAudio(chunk, stamp),
      onDropped: () => this.#stats.droppedFrames++,
      onFatal: (error) => this.#fail(error.message),
    });
    this.#tracks = { video: options.video, audio: options.audio };
    this.#listen();
    this.#timers.push(setInterval(() => void this.#pollViewers(), VIEWERS_POLL_MS));
    this.#timers.push(setInterval(() => (this.#stats.bitrateKbps = Math.round(this.#bitrate.sample(performance.now(), this.publisher.stats.bytesSent))), BITRATE_SAMPLE_MS));
  }

  get state(): BroadcastState {
    return this.#state;
  }
  get channelId(): number {
    return this.publisher.channelId;
  }

  /** Encodes these tracks from now on (another camera or microphone while live). */
  setTracks(video: MediaStreamTrack, audio: MediaStreamTrack | null): void {
    this.#tracks = { video, audio };
    if (this.#encoding) this.#attach();
  }

  #attach(): void {
    this.#video.attach(this.#tracks.video);
    if (this.#tracks.audio) this.#audio.attach(this.#tracks.audio);
  }

  sendChat(text: string): boolean {
    return this.publisher.sendChat(text);
  }

  /** Ends the channel for everyone (it leaves the home page's list). */
  async end(): Promise<void> {
    if (this.#state === 'ended') return;
    this.#stop();
    this.#setState('ended');
    try {
      await this.publisher.end();
    } catch (error) {
      // The socket is closed anyway; the CSM closes a channel whose broadcaster stays away.
      console.warn('ending the channel failed', error);
    }
  }

  /**
   * The tab is going away: stop the encoders and sockets now, and end the channel with a request the
   * browser completes after the page is gone (keepalive) — there is no time to await an answer.
   */
  abandon(): void {
    if (this.#state === 'ended') return;
    this.#stop();
    this.#setState('ended');
    this.publisher.close();
    void fetch(`${location.origin}/api/v1/channels/${this.channelId}/end`, {
      method: 'POST',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ publisherKey: this.publisher.publisherKey }),
    }).catch(() => {});
  }

  #listen(): void {
    const events = this.publisher.events;
    events.on('connected', () => {
      if (!this.#encoding && this.#state === 'connecting') {
        this.#encoding = true;
        this.#attach();
      }
      this.#resync();
    });
    events.on('reconnected', () => {
      this.#stats.reconnects++;
      this.#resync();
    });
    events.on('disconnected', () => this.#setState('reconnecting'));
    events.on('closed', (code, reason) => {
      if (this.#state === 'ended') return;
      this.#fail(`The broadcast stopped: ${reason || `connection closed (${code})`}.`);
    });
    events.on('keyframeRequested', () => {
      const now = performance.now();
      if (now - this.#lastViewerKeyframe < VIEWER_KEYFRAME_MIN_INTERVAL_MS) return;
      this.#lastViewerKeyframe = now;
      this.#video.requestKeyframe();
    });
    events.on('chat', (line) => this.events.safeEmit('chat', { from: line.from, text: line.text, at: line.at }));
    // Failed attempts while reconnecting: the Publisher retries; the console is enough.
    events.on('error', (error) => console.warn('publisher:', error.message));
  }

  /** On a new unit: its viewers need a keyframe before anything else of the video. */
  #resync(): void {
    this.#sender.resync();
    this.#video.requestKeyframe();
    this.#setState('live');
  }

  async #pollViewers(): Promise<void> {
    try {
      const info = await this.#api.getChannel(this.channelId);
      if (typeof info.viewers === 'number' && this.#state !== 'ended') this.#stats.viewers = info.viewers;
    } catch {
      // the API is away for a moment: keep the last count
    }
  }

  /** Stops for good and ends the channel, so its viewers are told rather than left waiting. */
  #fail(message: string): void {
    if (this.#state === 'ended' || this.#state === 'error') return;
    this.#stop();
    this.#setState('error', message);
    this.publisher.end().catch(() => {});
  }

  #stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    this.#video.close();
    this.#audio.close();
    this.#api.close();
    this.#stats.bitrateKbps = 0;
  }

  #setState(state: BroadcastState, detail = ''): void {
    if (this.#state === state && !detail) return;
    this.#state = state;
    this.events.safeEmit('state', state, detail);
  }
}
