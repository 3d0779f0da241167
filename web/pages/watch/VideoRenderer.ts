/**
 * Decoded pictures onto the canvas at the right moment. Each animation frame it asks the PlayoutClock
 * where playback is and draws the newest picture that is due (its timestamp reached, within half a
 * display refresh); older due pictures were never going to be seen and are dropped. The canvas keeps
 * its CSS size (times devicePixelRatio) as backing store and the picture is scaled to fit, keeping
 * its aspect, black bars around.
 *
 * Bounds, so a stalled clock or a background tab never grows memory or freezes the picture:
 * - a picture whose time passed long ago (`LATE_MS`) is dropped while the screen shows one that is
 *   recent — the pipeline is catching up, better skip than show stale pictures; when nothing was
 *   drawn for that long it is drawn anyway (video that lags the sound still moves), unless it is
 *   older than `STALE_MS` (a backlog flushed after a pause: nothing worth showing). The first picture
 *   of a stream is the exception: a new viewer's stream starts at the unit's newest keyframe, which
 *   may be a GOP old — shown at once, it is the first picture within milliseconds, and the pictures
 *   after it catch up to live while the decoder works through the burst;
 * - a picture not due after being held `MAX_HOLD_MS` is drawn anyway (the clock is off);
 * - at most `MAX_QUEUE` pictures wait; decoders lend their frames from a small pool, so every
 *   VideoFrame is closed as soon as it is drawn or dropped.
 * While the tab is hidden there are no animation frames: a timer takes over so pictures still move
 * through (and get closed) on time.
 */
import type { PlayoutClock } from './PlayoutClock.js';

export interface VideoRendererHandlers {
  /** a picture was drawn: its media timestamp (µs) */
  drawn(timestampUs: number): void;
  dropped(count: number): void;
}

interface Queued {
  frame: VideoFrame;
  /** performance.now() when it came out of the decoder */
  at: number;
}

const MAX_QUEUE = 30;
const MAX_HOLD_MS = 1000;
const LATE_MS = 250;
const STALE_MS = 1000;
/** due when its time comes before the next refresh is half over (60 Hz) */
const DUE_TOLERANCE_US = 8_000;
const HIDDEN_TICK_MS = 50;

export class VideoRenderer {
  readonly #canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  readonly #clock: PlayoutClock;
  readonly #handlers: VideoRendererHandlers;
  readonly #resize: ResizeObserver;
  #queue: Queued[] = [];
  #lastDrawAt = -Infinity;
  /** nothing drawn since the start or the last clear(): the next due picture is drawn whatever its age */
  #first = true;
  /** the canvas size the page lays out, in device pixels (0: not laid out yet) */
  #box = { width: 0, height: 0 };
  /** where the last picture went: bars are painted again only when it changes */
  #placed = '';
  #raf = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(canvas: HTMLCanvasElement, clock: PlayoutClock, handlers: VideoRendererHandlers) {
    this.#canvas = canvas;
    // Not `desynchronized` (Chromium's front-buffer canvas): a frame sooner on screen, but it may tear
    // mid-picture, which moving video shows at once.
    const context = canvas.getContext('2d', { alpha: false });
    if (!context) throw new Error('no 2d canvas context');
    this.#context = context;
    this.#clock = clock;
    this.#handlers = handlers;
    this.#resize = new ResizeObserver(([entry]) => {
      const size = entry?.devicePixelContentBoxSize?.[0];
      const box = entry?.contentRect;
      this.#box = size ? { width: size.inlineSize, height: size.blockSize } : { width: Math.round((box?.width ?? 0) * devicePixelRatio), height: Math.round((box?.height ?? 0) * devicePixelRatio) };
    });
    this.#resize.observe(canvas);
    const loop = (): void => {
      if (this.#closed) return;
      this.#tick();
      this.#raf = requestAnimationFrame(loop);
    };
    this.#raf = requestAnimationFrame(loop);
    this.#timer = setInterval(() => {
      if (document.hidden) this.#tick();
    }, HIDDEN_TICK_MS);
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** A decoded picture; the renderer owns it from now on. */
  push(frame: VideoFrame): void {
    if (this.#closed) return frame.close();
    this.#queue.push({ frame, at: performance.now() });
    if (this.#queue.length > MAX_QUEUE) this.#drop(1);
  }

  /** Drops every waiting picture (a rejoin: the new stream starts over). The canvas keeps the last one. */
  clear(): void {
    this.#drop(this.#queue.length);
    this.#first = true;
  }

  close(): void {
    this.#closed = true;
    cancelAnimationFrame(this.#raf);
    if (this.#timer) clearInterval(this.#timer);
    this.#resize.disconnect();
    this.clear();
  }

  #tick(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    const now = performance.now();
    const reading = this.#clock.now();
    let pick = queue.length - 1;
    if (reading !== null) {
      const due = reading.positionUs + DUE_TOLERANCE_US;
      pick = -1;
      while (pick + 1 < queue.length && queue[pick + 1]!.frame.timestamp <= due) pick++;
      if (pick < 0) {
        if (now - queue[0]!.at < MAX_HOLD_MS) return;
        pick = 0;
      } else if (!this.#first) {
        const lateUs = reading.positionUs - queue[pick]!.frame.timestamp;
        if (lateUs > STALE_MS * 1000 || (lateUs > LATE_MS * 1000 && now - this.#lastDrawAt < LATE_MS)) return this.#drop(pick + 1);
      }
    }
    this.#drop(pick);
    const { frame } = queue.shift()!;
    try {
      this.#draw(frame);
      this.#lastDrawAt = now;
      this.#first = false;
      this.#handlers.drawn(frame.timestamp);
    } finally {
      frame.close();
    }
  }

  #drop(count: number): void {
    if (count <= 0) return;
    for (const { frame } of this.#queue.splice(0, count)) frame.close();
    this.#handlers.dropped(count);
  }

  #draw(frame: VideoFrame): void {
    const canvas = this.#canvas;
    const width = this.#box.width || frame.displayWidth;
    const height = this.#box.height || frame.displayHeight;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      this.#placed = '';
    }
    const scale = Math.min(width / frame.displayWidth, height / frame.displayHeight);
    const w = Math.round(frame.displayWidth * scale);
    const h = Math.round(frame.displayHeight * scale);
    const x = Math.floor((width - w) / 2);
    const y = Math.floor((height - h) / 2);
    const placed = `${x},${y},${w},${h}`;
    const context = this.#context;
    if (placed !== this.#placed) {
      context.fillStyle = '#000';
      context.fillRect(0, 0, width, height);
      this.#placed = placed;
    }
    context.drawImage(frame, x, y, w, h);
  }
}
