/**
 * Decoded audio out through Web Audio, and the player's master clock: `position()` is the media time
 * (the broadcaster's µs timestamps) of the sound leaving the speakers right now. Video is drawn
 * against it, so picture and sound stay together whatever the audio path's latency is.
 *
 * Scheduling. A chunk stamped t is ready to play at t + live-edge offset (LiveEdge: how long the
 * fastest recent audio took to get here); it is handed to the audio thread a jitter buffer after that
 * (JitterEstimate: what recent chunks needed), and is heard the context's output latency later.
 * Chunks close to where the previous one ends are butted against it (capture stamps wobble by a few
 * ms; sample-exact joins avoid clicks). A chunk that would start well before the previous one ends is
 * behind the live edge: it is skipped (catching up costs a few ms of sound, not permanent latency). A
 * late chunk is played at once when only a little late, dropped when older than that (the unit's
 * catch-up burst after a join, a stall). When most video is ready only later than the sound would
 * be heard (a slow encoder or decoder), the sound waits for it, up to `MAX_SYNC_DELAY_MS` after
 * capture: lip sync, at no cost to the picture's latency (it could not be shown earlier anyway).
 *
 * The clock reads the other end: `AudioContext.getOutputTimestamp()` pairs the context time now
 * leaving the output with a performance time, so `position()` is what is heard, output latency
 * included — the picture waits for the sound, not for the sound's hand-over to the audio thread.
 *
 * Muted by default (gain 0) — the clock runs all the same as long as the context is running, which
 * is whenever the browser allows audio without a gesture; otherwise `position()` is null and the
 * player uses its wall clock until `setMuted(false)` (from a click) resumes the context.
 */
import { epochMillis } from '../shared/capture-clock.js';
import { JitterEstimate } from './JitterEstimate.js';

export interface AudioOutputStats {
  chunksPlayed: number;
  /** too late to play, or behind the schedule */
  chunksDropped: number;
  lateEvents: number;
  jitterMs: number;
}

interface Segment {
  /** context time (s) of its first sample (heard when the output's context time gets there) */
  start: number;
  end: number;
  mediaUs: number;
  source: AudioBufferSourceNode;
}

/** a chunk this close to the previous one's end is butted against it */
const CONTIGUOUS_S = 0.025;
/** scheduling margin ahead of the render thread */
const SAFETY_S = 0.005;
/** a chunk later than this is dropped rather than played late */
const MAX_LATE_MS = 60;
/** after a (re)start, late chunks are the catch-up burst: no jitter learning meanwhile */
const SETTLE_MS = 1000;
/** sound waits for slow video up to this long after capture (beyond it, lip sync gives way to latency) */
const MAX_SYNC_DELAY_MS = 400;
/** the speakers have had nothing for this long after the last chunk: no clock */
const STARVED_S = 0.2;

export class AudioOutput {
  readonly context: AudioContext;
  readonly #gain: GainNode;
  #muted = true;
  #segments: Segment[] = [];
  /** context time where the last scheduled chunk ends */
  #nextFree = 0;
  readonly #jitter = new JitterEstimate();
  #startedAt = 0;
  readonly #stats = { chunksPlayed: 0, chunksDropped: 0, lateEvents: 0 };
  #scratch = new Float32Array(0);

  /** null when the page cannot have an AudioContext (then the player runs on its wall clock) */
  static create(): AudioOutput | null {
    try {
      return new AudioOutput(new AudioContext({ latencyHint: 'interactive' }));
    } catch {
      return null;
    }
  }

  private constructor(context: AudioContext) {
    this.context = context;
    this.#gain = context.createGain();
    this.#gain.gain.value = 0;
    this.#gain.connect(context.destination);
    // Running again after a suspension: what was scheduled is meaningless now.
    context.addEventListener('statechange', () => this.reset());
  }

  get running(): boolean {
    return this.context.state === 'running';
  }

  get muted(): boolean {
    return this.#muted;
  }

  get stats(): AudioOutputStats {
    return { ...this.#stats, jitterMs: this.#jitter.targetMs };
  }

  /** Unmuting resumes a context the autoplay policy held (call it from a user gesture). */
  async setMuted(muted: boolean): Promise<void> {
    this.#muted = muted;
    this.#gain.gain.setValueAtTime(muted ? 0 : 1, this.context.currentTime);
    if (!muted && this.context.state === 'suspended') await this.context.resume();
  }

  /**
   * Schedules a decoded chunk (and closes it): `timestampUs` its capture stamp, `edgeOffsetUs`
   * LiveEdge's offset for audio, `videoReadyMs` how long after capture most video is ready to show
   * (null: unknown, or no video) — sound waits for it, up to a point, so picture and sound stay
   * together even when the video path is the slower one.
   */
  play(data: AudioData, timestampUs: number, edgeOffsetUs: number, videoReadyMs: number | null): void {
    try {
      if (this.running) this.#schedule(data, timestampUs, edgeOffsetUs, videoReadyMs);
    } finally {
      data.close();
    }
  }

  /** Media µs being heard now; null when nothing plays (not running, not started, starved). */
  position(): number | null {
    if (!this.running || this.#segments.length === 0) return null;
    const heard = this.#contextTimeHeardAt(epochMillis());
    let i = this.#segments.length - 1;
    while (i >= 0 && this.#segments[i]!.start > heard) i--;
    if (i < 0) return null;
    // Segments before the one playing are done: forget them.
    if (i > 0) this.#segments.splice(0, i);
    const playing = this.#segments[0]!;
    if (heard > playing.end + STARVED_S) return null;
    return playing.mediaUs + (heard - playing.start) * 1e6;
  }

  /** Stops what is scheduled; the next chunk starts a new schedule. */
  reset(): void {
    for (const s of this.#segments) {
      try {
        s.source.stop();
      } catch {
        // not started yet in a context that is not running: nothing to stop
      }
    }
    this.#segments = [];
    this.#nextFree = 0;
    this.#startedAt = 0;
  }

  /** A new path (a rejoin): its jitter is learnt again. */
  restart(): void {
    this.reset();
    this.#jitter.reset();
  }

  close(): void {
    this.reset();
    void this.context.close().catch(() => {});
  }

  #schedule(data: AudioData, timestampUs: number, edgeOffsetUs: number, videoReadyMs: number | null): void {
    const context = this.context;
    const now = context.currentTime;
    const wallNow = performance.now();
    if (this.#startedAt === 0) this.#startedAt = wallNow;
    const ageMs = epochMillis() - timestampUs / 1000;
    const edgeMs = edgeOffsetUs / 1000;
    // How late this chunk is ready, against the fastest recent one; learnt once past the catch-up burst.
    if (wallNow - this.#startedAt >= SETTLE_MS) this.#jitter.record(ageMs - edgeMs);
    // Capture → hand-over to the audio thread; it is heard the output latency after that.
    let delayMs = edgeMs + this.#jitter.targetMs;
    if (videoReadyMs !== null) {
      const outputLatencyMs = (context.baseLatency + (context.outputLatency || 0)) * 1000;
      delayMs = Math.max(delayMs, Math.min(MAX_SYNC_DELAY_MS, videoReadyMs - outputLatencyMs));
    }
    let start = now + (delayMs - ageMs) / 1000;
    if (this.#nextFree > now) {
      const drift = start - this.#nextFree;
      if (Math.abs(drift) <= CONTIGUOUS_S) start = this.#nextFree;
      else if (drift < 0) return void this.#stats.chunksDropped++;
      // drift > 0: a gap in the stream (a lost packet): silence until this chunk's time
    }
    if (start < now + SAFETY_S) {
      this.#stats.lateEvents++;
      if ((now + SAFETY_S - start) * 1000 > MAX_LATE_MS) return void this.#stats.chunksDropped++;
      start = now + SAFETY_S;
    }
    const source = context.createBufferSource();
    source.buffer = this.#buffer(data);
    source.connect(this.#gain);
    source.start(start);
    const end = start + data.numberOfFrames / data.sampleRate;
    this.#segments.push({ start, end, mediaUs: timestampUs, source });
    this.#nextFree = end;
    // position() forgets what was heard; without video nobody asks it, so forget here too.
    while (this.#segments.length > 1 && this.#segments[0]!.end < now - 1) this.#segments.shift();
    this.#stats.chunksPlayed++;
  }

  #buffer(data: AudioData): AudioBuffer {
    const frames = data.numberOfFrames;
    const buffer = new AudioBuffer({ numberOfChannels: data.numberOfChannels, length: frames, sampleRate: data.sampleRate });
    if (this.#scratch.length < frames) this.#scratch = new Float32Array(frames);
    const plane = this.#scratch.subarray(0, frames);
    for (let c = 0; c < data.numberOfChannels; c++) {
      data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
      buffer.copyToChannel(plane, c);
    }
    return buffer;
  }

  /**
   * The context time heard at `epochMs`: getOutputTimestamp pairs the context time now leaving the
   * output with its performance time. Before the output has started it reports zeros: then the
   * context time minus the latencies the context declares.
   */
  #contextTimeHeardAt(epochMs: number): number {
    const stamp = this.context.getOutputTimestamp();
    const perfMs = epochMs - performance.timeOrigin;
    if (stamp.contextTime && stamp.performanceTime) return stamp.contextTime + (perfMs - stamp.performanceTime) / 1000;
    const latency = this.context.baseLatency + (this.context.outputLatency || 0);
    return this.context.currentTime - latency + (perfMs - performance.now()) / 1000;
  }
}
