/**
 * The media side of the watch page: frames from the Viewer (in seq order) in, picture on the canvas
 * and sound out. It owns the decoders, the audio output, the clocks and the renderer, and wires them:
 *
 *   frame ─► LiveEdge (per kind) ─► Video/AudioDecoderPipe ─► VideoRenderer (on PlayoutClock)
 *                                                          └► AudioOutput (the master clock)
 *
 * A seq gap means a frame of some kind is missing — maybe video, whose reference chain is then broken:
 * video waits for the next keyframe. `restart()` (after a rejoin: another unit, another path) starts
 * the decoders, the audio schedule and the live edges over; the canvas keeps the last picture until
 * the new stream's first keyframe replaces it.
 */
import { FrameKind, type Frame } from '../../../protocol/media-frame.js';
import { epochMicros, epochMillis } from '../shared/capture-clock.js';
import { AudioDecoderPipe } from './AudioDecoderPipe.js';
import { AudioOutput } from './AudioOutput.js';
import { LiveEdge } from './LiveEdge.js';
import { PlayoutClock } from './PlayoutClock.js';
import { RecentPercentile } from './RecentPercentile.js';
import { VideoDecoderPipe } from './VideoDecoderPipe.js';
import { VideoRenderer } from './VideoRenderer.js';
import type { WatchStats } from './WatchStats.js';

export interface PlayerHandlers {
  /** video is waiting for a keyframe: ask the broadcaster for one (the handler rate-limits) */
  needKeyframe(): void;
  /** something the viewer should be told (an unsupported codec) */
  problem(message: string): void;
}

/** without audio, pictures are shown this long after the fastest recent video frame would allow */
const WALL_BUFFER_MS = 40;
/** video older than this when decoded is a catch-up burst or a stall, not the path's usual delay */
const MAX_READY_SAMPLE_MS = 600;
/**
 * The first second of a (re)start is the unit's catch-up burst (the frames since its newest
 * keyframe, old on arrival): they say nothing about the path's usual delay.
 */
const SETTLE_MS = 1000;
/** a display refresh and a bit: a picture ready at t is on screen by then */
const DRAW_MARGIN_MS = 10;

export class Player {
  readonly audio: AudioOutput | null;
  readonly #videoEdge = new LiveEdge();
  readonly #audioEdge = new LiveEdge();
  readonly #video: VideoDecoderPipe;
  readonly #audioDecoder: AudioDecoderPipe;
  readonly #renderer: VideoRenderer;
  /**
   * capture → decoded, ms, over the last 3 s or so: its 60th percentile is what "most video" needs.
   * Not higher: sound waiting for the slowest pictures would add their delay to every picture;
   * the few later ones are drawn as soon as they are decoded instead.
   */
  readonly #videoReady = new RecentPercentile({ window: 90, quantile: 0.6, every: 10, minSamples: 10 });
  #lastSeq: number | null = null;
  /** performance.now() of the last frame in; null before any */
  #lastFrameAt: number | null = null;
  /** performance.now() of the first frame since the (re)start; null before it */
  #startedAt: number | null = null;

  constructor(canvas: HTMLCanvasElement, stats: WatchStats, handlers: PlayerHandlers) {
    this.audio = AudioOutput.create();
    const clock = new PlayoutClock(this.audio, this.#videoEdge, () => this.#videoReadyMs(), WALL_BUFFER_MS);
    this.#renderer = new VideoRenderer(canvas, clock, {
      drawn: (timestampUs) => stats.drawn(timestampUs),
      dropped: (count) => stats.dropped(count),
    });
    this.#video = new VideoDecoderPipe({
      frame: (picture) => {
        stats.videoDecoded();
        const readyMs = epochMillis() - picture.timestamp / 1000;
        const settled = this.#startedAt !== null && performance.now() - this.#startedAt >= SETTLE_MS;
        if (settled && readyMs <= MAX_READY_SAMPLE_MS) this.#videoReady.add(readyMs);
        this.#renderer.push(picture);
      },
      dropped: () => stats.dropped(1),
      needKeyframe: handlers.needKeyframe,
      problem: handlers.problem,
    });
    this.#audioDecoder = new AudioDecoderPipe({
      audio: (data, timestampUs) => {
        stats.audioDecoded();
        const offset = this.#audioEdge.offsetUs;
        if (this.audio && offset !== null) this.audio.play(data, timestampUs, offset, this.#videoReadyMs());
        else data.close();
      },
      problem: handlers.problem,
    });
  }

  get lastFrameAt(): number | null {
    return this.#lastFrameAt;
  }

  /** capture → on screen for most video, ms; null before enough of it was decoded */
  #videoReadyMs(): number | null {
    const ready = this.#videoReady.value;
    return ready === null ? null : ready + DRAW_MARGIN_MS;
  }

  /** A frame from the Viewer, in seq order. */
  frame(frame: Frame): void {
    const arrivalUs = epochMicros();
    this.#lastFrameAt = performance.now();
    this.#startedAt ??= this.#lastFrameAt;
    if (this.#lastSeq !== null && frame.seq !== ((this.#lastSeq + 1) >>> 0)) this.#video.discontinuity();
    this.#lastSeq = frame.seq;
    if (frame.kind === FrameKind.VIDEO) {
      this.#videoEdge.observe(frame.timestamp, arrivalUs);
      this.#video.push(frame);
    } else if (frame.kind === FrameKind.AUDIO) {
      this.#audioEdge.observe(frame.timestamp, arrivalUs);
      this.#audioDecoder.push(frame);
    }
  }

  /** The stream starts over (a rejoin): new decoders, a new audio schedule, new live edges. */
  restart(): void {
    this.#lastSeq = null;
    this.#startedAt = null;
    this.#video.discontinuity(true);
    this.#audioDecoder.reset();
    this.audio?.restart();
    this.#renderer.clear();
    this.#videoEdge.reset();
    this.#audioEdge.reset();
    this.#videoReady.reset();
  }

  close(): void {
    this.#video.close();
    this.#audioDecoder.close();
    this.#renderer.close();
    this.audio?.close();
  }
}
