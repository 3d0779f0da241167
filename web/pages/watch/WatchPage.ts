/**
 * The watch page: a Viewer (web/client) joins the channel — UDP first (RTP packets on a media track
 * where the browser has an encoded transform, the standard one or else Chromium's legacy one, else a
 * data channel: udp-carrier.ts), TCP (WebSocket) as the fallback, a rejoin through the API when its
 * unit goes away — and its frames go to the Player. Around it: the channel's title, the status line
 * and numbers, the mute and force-TCP controls, the chat, and the `window.onair` hook (WatchStats).
 *
 * States (`#status`, `onair.state`):
 * - joining       before the first frames;
 * - playing       frames arriving (and a picture or sound out of them);
 * - reconnecting  the Viewer lost its unit and is joining again, or no frame for 2 s while joined —
 *                 the broadcaster's unit may be moving; the channel has not ended;
 * - ended         the Viewer closed for good after watching, or the channel does not exist (any more);
 * - error         a refusal before ever playing, or a browser that cannot decode the stream.
 */
import { CsmApi } from '../../../web/client/CsmApi.js';
import { Viewer } from '../../../web/client/Viewer.js';
import type { WebSocketConstructor } from '../../../web/client/socket.js';
import type { RtcPeerConnectionConstructor } from '../../../web/client/rtc.js';
import { legacyRtpTap } from '../../../web/client/rtp-tap.js';
import { ChatPanel } from '../shared/ChatPanel.js';
import { Player } from './Player.js';
import { ScriptRtpTap } from './ScriptRtpTap.js';
import { StatusView, type StatusElements } from './StatusView.js';
import type { UdpPath } from './udp-carrier.js';
import { installHook, WatchStats, type WatchState } from './WatchStats.js';

export interface WatchElements extends StatusElements {
  canvas: HTMLCanvasElement;
  title: HTMLElement;
  broadcaster: HTMLElement;
  unmute: HTMLButtonElement;
  forceTcp: HTMLInputElement;
  chat: HTMLElement;
}

export interface WatchOptions {
  channelId: number;
  /** start on TCP and stay there until the force-TCP box is unticked */
  forceTcp: boolean;
  /** how UDP's chunks travel, and how the rtp carrier's are read (udp-carrier.ts) */
  udp: UdpPath;
  /** the standard RTP tap's worker script (ScriptRtpTap.ts) */
  rtpTapWorker: URL;
}

/** no frame for this long while joined: show reconnecting (the broadcaster's unit may be moving) */
const STALL_MS = 2000;
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
const REFRESH_MS = 250;

export class WatchPage {
  readonly #el: WatchElements;
  readonly #channelId: number;
  readonly #stats = new WatchStats();
  readonly #view: StatusView;
  readonly #api: CsmApi;
  readonly #viewer: Viewer;
  readonly #player: Player;
  readonly #chat: ChatPanel;
  /** the encoded transform chosen for the rtp carrier (udp-carrier.ts), whether or not a unit serves rtp */
  readonly #rtpTap: UdpPath['rtpTap'];
  #lastKeyframeRequest = -Infinity;
  /** sticky problem text (state 'error' while set) */
  #problem: string | null = null;
  /** set once the Viewer closed for good */
  #final: { state: WatchState; text: string } | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** performance.now() of the last rejoin: frames from before it do not count as playing */
  #rejoinedAt = -Infinity;

  constructor(elements: WatchElements, options: WatchOptions) {
    this.#el = elements;
    this.#channelId = options.channelId;
    this.#stats.hook.carrier = options.udp.carrier;
    this.#stats.hook.rtpTap = this.#rtpTap = options.udp.rtpTap;
    installHook(this.#stats.hook);
    this.#view = new StatusView(elements);
    this.#api = new CsmApi({ baseUrl: location.origin });
    this.#player = new Player(elements.canvas, this.#stats, {
      needKeyframe: () => this.#requestKeyframe(),
      problem: (message) => this.#setProblem(message),
    });
    this.#viewer = new Viewer({
      api: this.#api,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      channelId: options.channelId,
      udp: {
        RTCPeerConnection: RTCPeerConnection as unknown as RtcPeerConnectionConstructor,
        carrier: options.udp.carrier,
        rtpTap: options.udp.rtpTap === 'script' ? new ScriptRtpTap(options.rtpTapWorker) : legacyRtpTap,
        auto: !options.forceTcp,
      },
      // The unit's reports carry what this viewer really sees: glass-to-glass, not just transit; while
      // no picture is drawn (the unit skips video for a slow link), how late the frames arrive.
      latencyMs: () => this.#stats.stats.latencyP50Ms ?? this.#viewer.stats.delay.lastMs,
    });
    this.#chat = new ChatPanel(elements.chat, (text) => this.#viewer.sendChat(text));
    this.#wireViewer();
    this.#wireControls(options.forceTcp);
  }

  start(): void {
    performance.mark('watch:start');
    if (typeof VideoDecoder === 'undefined' || typeof AudioDecoder === 'undefined') {
      this.#setProblem('this browser has no WebCodecs: use a recent Chrome, Edge or Firefox');
    }
    void this.#showChannel();
    this.#viewer.start().catch(() => {}); // a failed first join arrives as `closed`
    this.#timer = setInterval(() => this.#refresh(), REFRESH_MS);
    this.#refresh();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#viewer.close();
    this.#player.close();
    this.#api.close();
  }

  #wireViewer(): void {
    const viewer = this.#viewer;
    const hook = this.#stats.hook;
    viewer.events.on('frame', (frame) => this.#player.frame(frame));
    viewer.events.once('frame', () => performance.mark('watch:first-frame'));
    viewer.events.on('joined', (join) => {
      performance.mark('watch:joined');
      hook.viewerId = join.viewerId;
      hook.mode = viewer.mode;
      this.#chat.self = join.viewerId;
      this.#refresh();
    });
    viewer.events.on('rejoined', (join) => {
      hook.viewerId = join.viewerId;
      hook.mode = viewer.mode;
      this.#chat.self = join.viewerId;
      this.#rejoinedAt = performance.now();
      this.#player.restart();
      this.#refresh();
    });
    viewer.events.on('disconnected', () => this.#refresh());
    viewer.events.on('mode', (mode) => {
      hook.mode = mode;
      // The carrier asked for, unless this socket's unit does not serve it (ViewerTransport): the data channel.
      const carrier = viewer.carrier ?? hook.carrier;
      if (carrier !== hook.carrier) {
        hook.carrier = carrier;
        hook.rtpTap = carrier === 'rtp' ? this.#rtpTap : null;
      }
      this.#view.mode(mode, hook.carrier);
    });
    viewer.events.on('video', (hold) => {
      hook.videoHold = hold?.reason ?? null;
      this.#refresh();
    });
    viewer.events.on('chat', (line) => this.#chat.add(line));
    viewer.events.on('closed', (code, reason) => {
      // The channel is gone (ended, or never was): the CSM refuses the join with no-such-channel.
      const gone = reason.startsWith('CSM_ERR_NO_SUCH_CHANNEL');
      this.#final = gone || hook.viewerId !== null ? { state: 'ended', text: 'ended' } : { state: 'error', text: `error: ${reason || `closed (${code})`}` };
      // Nothing more will come: free the decoders and the audio output; the last picture stays.
      this.#player.close();
      this.#refresh();
    });
    // Failed attempts while rejoining come here too: the status line says reconnecting meanwhile.
    viewer.events.on('error', (error) => console.debug('viewer:', error.message));
  }

  #wireControls(forceTcp: boolean): void {
    const { unmute, forceTcp: box } = this.#el;
    box.checked = forceTcp;
    box.addEventListener('change', () => (box.checked ? this.#viewer.forceTcp() : this.#viewer.tryUdp()));
    const audio = this.#player.audio;
    if (!audio) {
      unmute.disabled = true;
      unmute.title = 'this browser gives the page no audio output';
      return;
    }
    const label = (): void => {
      unmute.textContent = audio.muted ? 'Unmute' : 'Mute';
      unmute.setAttribute('aria-pressed', String(!audio.muted));
    };
    label();
    unmute.addEventListener('click', () => {
      // The click is the user gesture that lets a context the autoplay policy held start.
      void audio.setMuted(!audio.muted).finally(label);
      label();
    });
  }

  async #showChannel(): Promise<void> {
    const { title, broadcaster } = this.#el;
    title.textContent = `Channel ${this.#channelId}`;
    try {
      const info = await this.#api.getChannel(this.#channelId);
      title.textContent = info.title;
      broadcaster.textContent = info.broadcaster;
      document.title = `${info.title} — OnAir`;
    } catch {
      // No details (an ended channel, the API unreachable): the join says what the state is.
      broadcaster.textContent = '—';
    }
  }

  #requestKeyframe(): void {
    const now = performance.now();
    if (now - this.#lastKeyframeRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    if (this.#viewer.requestKeyframe()) this.#lastKeyframeRequest = now;
  }

  #setProblem(message: string): void {
    this.#problem = message;
    this.#refresh();
  }

  #refresh(): void {
    const viewer = this.#viewer;
    const viewerStats = viewer.stats;
    this.#stats.refresh(viewerStats.bytes, viewerStats.rejoins);
    const { state, text } = this.#currentState();
    this.#stats.hook.state = state;
    this.#view.state(state, text);
    this.#view.mode(this.#stats.hook.mode, this.#stats.hook.carrier);
    this.#view.numbers(this.#stats.stats);
  }

  /** What "playing" means now: with video, or sound only while the unit holds the video back (and why). */
  #playingText(): string {
    const hold = this.#viewer.videoHold;
    if (!hold) return 'playing';
    if (hold.reason === 'behind') return 'playing — sound only while catching up';
    const seconds = hold.retryAt === null ? null : Math.max(0, Math.ceil((hold.retryAt - Date.now()) / 1000));
    return `playing — sound only: your connection is slower than this channel${seconds === null ? '' : `; video tried again in ${seconds} s`}`;
  }

  #currentState(): { state: WatchState; text: string } {
    if (this.#final) return this.#final;
    if (this.#problem !== null) return { state: 'error', text: `error: ${this.#problem}` };
    const s = this.#stats.stats;
    const lastFrameAt = this.#player.lastFrameAt;
    const watched = lastFrameAt !== null;
    switch (this.#viewer.state) {
      case 'rejoining':
        return { state: 'reconnecting', text: 'reconnecting' };
      case 'open': {
        const flowing = watched && lastFrameAt > this.#rejoinedAt && performance.now() - lastFrameAt <= STALL_MS;
        if (flowing && (s.framesDrawn > 0 || s.audioDecoded > 0)) return { state: 'playing', text: this.#playingText() };
        return watched && !flowing ? { state: 'reconnecting', text: 'reconnecting' } : { state: 'joining', text: 'joining' };
      }
      default:
        return watched ? { state: 'reconnecting', text: 'reconnecting' } : { state: 'joining', text: 'joining' };
    }
  }
}
