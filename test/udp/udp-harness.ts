/**
 * UDP-mode tests without a CSM: a real StreamingUnit in this process (port 0, groups created
 * directly, tickets signed with a key made for the run), a publisher on a real WebSocket (`ws`), and
 * viewers that are the real client (Viewer + node-datachannel: its RTCPeerConnection polyfill for the
 * data-channel carrier, NodeRtpPeerConnection over its native API for the rtp carrier) joining
 * through a stand-in for the CSM's join call. Everything is on loopback.
 *
 * `shutdown()` closes what the harness made, then node-datachannel (`cleanup()`: its threads would
 * keep the test process alive otherwise). Call it from after(); it is safe when start failed half-way.
 */
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { createServer, type Server } from 'node:net';
import { cleanup as releaseDataChannels } from 'node-datachannel';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { pino } from 'pino';
import WebSocket from 'ws';
import { Codec, encodeFrame, FrameKind, type Frame } from '../../protocol/media-frame.js';
import { parseUnitMessage, type UdpCarrier } from '../../protocol/media-messages.js';
import { generateTicketKeys, TicketSigner } from '../../protocol/tickets.js';
import { loadUnitConfig, type UnitConfig } from '../../streaming-unit/config.js';
import { StreamingUnit, type StreamingUnitOptions } from '../../streaming-unit/StreamingUnit.js';
import type { JoinResult } from '../../web/client/CsmApi.js';
import { NodeRtpPeerConnection } from '../../web/client/NodeRtpPeerConnection.js';
import { Viewer, type ViewerOptions } from '../../web/client/Viewer.js';
import type { UdpViewerOptions } from '../../web/client/ViewerTransport.js';
import { waitFor } from '../support/processes.js';

const logger = pino({ level: process.env.UDP_TEST_LOG ?? 'silent' });
export const UNIT_ID = 'u-udp';
/** the UDP carriers, for the tests that run once on each */
export const CARRIERS: readonly UdpCarrier[] = ['datachannel', 'rtp'];

export interface Harness {
  unit: StreamingUnit;
  /**
   * a viewer of `channelId` in group `groupIndex`; `udp: null` makes a TCP-only viewer. The
   * RTCPeerConnection given to it fits `udp.carrier` (default the data channel).
   */
  viewer(channelId: number, groupIndex: number, viewerId: string, options?: { udp?: Partial<UdpViewerOptions> | null; reportIntervalMs?: number; latencyMs?: ViewerOptions['latencyMs'] }): Viewer;
  /** a publisher of `channelId`; with `streamTickMs` it streams, and resolves once the unit's ring holds a keyframe and a few frames (so a viewer starting then gets its first frames over TCP) */
  publisher(channelId: number, streamTickMs?: number): Promise<TestPublisher>;
  viewTicket(channelId: number, groupIndex: number, viewerId: string): Promise<string>;
  /** what a publisher of `channelId` presents at /ingest (the one `publisher()` uses) */
  publishTicket(channelId: number): Promise<string>;
  shutdown(): Promise<void>;
}

/**
 * The harness of the describe block this is called in: started before its tests (`overrides` may be
 * computed then), handed to `use` (which may set it up further), and shut down after them.
 */
export function withHarness(
  use: (harness: Harness) => unknown,
  overrides: Partial<UnitConfig> | (() => Promise<Partial<UnitConfig>>) = {},
  unitOptions: StreamingUnitOptions = {},
): void {
  let harness: Harness | undefined;
  before(async () => {
    harness = await startHarness(typeof overrides === 'function' ? await overrides() : overrides, unitOptions);
    await use(harness);
  });
  after(async () => {
    await harness?.shutdown();
  });
}

export async function startHarness(unitOverrides: Partial<UnitConfig> = {}, unitOptions: StreamingUnitOptions = {}): Promise<Harness> {
  // Holds the unit's CSM port and hangs up: no CSM of another test can adopt this unit.
  const noCsm: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => noCsm.listen(0, '127.0.0.1', resolve));
  const viewers: Viewer[] = [];
  const publishers: TestPublisher[] = [];
  let unit: StreamingUnit | null = null;
  const shutdown = async (): Promise<void> => {
    for (const v of viewers) v.close();
    for (const p of publishers) p.close();
    unit?.close();
    noCsm.close();
    // Let the closes' last callbacks run before the library goes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseDataChannels();
  };
  try {
    const keys = await generateTicketKeys();
    const signer = await TicketSigner.fromJwk(keys.privateJwk);
    const config = loadUnitConfig({
      overrides: {
        unitId: UNIT_ID,
        port: 0,
        csmControlPort: (noCsm.address() as { port: number }).port,
        clusterSecret: randomBytes(12).toString('base64url'),
        reconnectMinMs: 1000,
        reconnectMaxMs: 5000,
        ticketPublicJwk: JSON.stringify(keys.publicJwk),
        ...unitOverrides,
      },
    });
    const started = await StreamingUnit.start(config, logger, unitOptions);
    unit = started;
    const url = `ws://127.0.0.1:${started.port}`;
    const viewTicket = (channel: number, group: number, id: string): Promise<string> => signer.sign({ role: 'view', channel, unit: UNIT_ID, group, id });
    const publishTicket = (channel: number): Promise<string> => signer.sign({ role: 'publish', channel, id: `p${channel}` });
    return {
      unit: started,
      viewTicket,
      publishTicket,
      viewer: (channelId, groupIndex, viewerId, options = {}) => {
        const api = {
          join: async (channel: number): Promise<JoinResult> => ({
            channelId: channel,
            viewerId,
            unitId: UNIT_ID,
            url,
            group: `g${groupIndex}`,
            groupIndex,
            ticket: await viewTicket(channel, groupIndex, viewerId),
            expiresAt: Date.now() + 60_000,
            transports: ['udp', 'tcp'],
            udpCarriers: ['datachannel', 'rtp'],
          }),
        };
        const PeerConnection = options.udp?.carrier === 'rtp' ? NodeRtpPeerConnection : RTCPeerConnection;
        const udp = options.udp === null ? undefined : { RTCPeerConnection: PeerConnection, rtcConfiguration: { bindAddress: '127.0.0.1' }, ...options.udp };
        const viewerOptions: ViewerOptions = { api, WebSocket, channelId, maxAttempts: 3, rejoinMinMs: 50, rejoinMaxMs: 200, now: () => performance.now(), udp, reportIntervalMs: options.reportIntervalMs ?? 2000, ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}) };
        const viewer = new Viewer(viewerOptions);
        viewers.push(viewer);
        return viewer;
      },
      publisher: async (channelId, streamTickMs) => {
        const ticket = await publishTicket(channelId);
        const publisher = await TestPublisher.connect(`${url}/ingest/${channelId}?t=${encodeURIComponent(ticket)}`, channelId);
        publishers.push(publisher);
        if (streamTickMs !== undefined) {
          publisher.stream(streamTickMs);
          await waitFor('frames in the ring', () => (started.media.channel(channelId)?.ring.stats().framesWritten ?? 0) >= 4, 5000, 5);
        }
        return publisher;
      },
      shutdown,
    };
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/**
 * A broadcaster on a plain WebSocket: frames with consecutive seqs, each payload kept to check what
 * viewers get. It honours keyframe requests (the next video frame is a keyframe), as a page does.
 */
export class TestPublisher {
  readonly sent = new Map<number, Uint8Array>();
  readonly kinds = new Map<number, FrameKind>();
  keyframeRequests = 0;
  #seq = 0;
  #video = 0;
  #forceKey = false;
  #timer: ReturnType<typeof setInterval> | null = null;

  private constructor(
    readonly ws: WebSocket,
    readonly channelId: number,
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      if (parseUnitMessage(String(data))?.t === 'keyframe') {
        this.keyframeRequests++;
        this.#forceKey = true;
      }
    });
  }

  static connect(url: string, channelId: number): Promise<TestPublisher> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestPublisher(ws, channelId)));
      ws.once('error', reject);
    });
  }

  get nextSeq(): number {
    return this.#seq;
  }

  /** One video frame: a keyframe every `gop` frames, on request, or when `keyframe` says so. */
  video(size: number, keyframe?: boolean, gop = 25): number {
    const key = keyframe ?? (this.#forceKey || this.#video % gop === 0);
    if (key) this.#forceKey = false;
    this.#video++;
    return this.#send({ kind: FrameKind.VIDEO, keyframe: key, codec: Codec.VP8, payload: randomBytes(size) });
  }

  audio(): number {
    return this.#send({ kind: FrameKind.AUDIO, keyframe: false, codec: Codec.OPUS, payload: randomBytes(80) });
  }

  /**
   * A steady stream every `tickMs`: one video frame (keyframes of `keyBytes`, others 1–3 KB) and one
   * audio frame. About 1 Mbit/s at the defaults.
   */
  stream(tickMs = 20, keyBytes = 12_000): void {
    this.stop();
    this.#timer = setInterval(() => {
      const key = this.#forceKey || this.#video % 25 === 0;
      this.video(key ? keyBytes : 1000 + ((this.#seq * 37) % 2000), key);
      this.audio();
    }, tickMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  close(): void {
    this.stop();
    this.ws.close();
  }

  #send(part: Pick<Frame, 'kind' | 'keyframe' | 'codec' | 'payload'>): number {
    const seq = this.#seq++;
    this.ws.send(encodeFrame({ channel: this.channelId, seq, timestamp: seq * 10_000, ...part }));
    this.sent.set(seq, part.payload);
    this.kinds.set(seq, part.kind);
    return seq;
  }
}

export interface Arrival {
  seq: number;
  kind: number;
  keyframe: boolean;
  payload: Uint8Array;
  /** performance.now() at delivery */
  at: number;
  path: 'tcp' | 'udp';
}

/** Everything a viewer delivers, with when and over which path. */
export function record(viewer: Viewer): Arrival[] {
  const arrivals: Arrival[] = [];
  viewer.events.on('frame', (f, path) => arrivals.push({ seq: f.seq, kind: f.kind, keyframe: f.keyframe, payload: f.payload, at: performance.now(), path }));
  return arrivals;
}

/**
 * The start most UDP tests share: a root group `groupIndex` for `channelId`, its publisher streaming
 * every 10 ms, and one viewer on `carrier`, recorded from its first frame, once it is on UDP.
 */
export async function viewerOnUdp(h: Harness, channelId: number, groupIndex: number, viewerId: string, carrier: UdpCarrier): Promise<{ publisher: TestPublisher; viewer: Viewer; frames: Arrival[] }> {
  h.unit.groups.createGroup(channelId, groupIndex, 'root');
  const publisher = await h.publisher(channelId, 10);
  const viewer = h.viewer(channelId, groupIndex, viewerId, { udp: { carrier } });
  const frames = record(viewer);
  await viewer.start();
  await nextMode(viewer, 'udp');
  return { publisher, viewer, frames };
}

/** Resolves when `viewer` reports `mode`; rejects after `timeoutMs`. */
export function nextMode(viewer: Viewer, mode: 'tcp' | 'udp', timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (viewer.mode === mode) return resolve();
    const timer = setTimeout(() => {
      viewer.events.off('mode', listener);
      reject(new Error(`viewer not in mode ${mode} after ${timeoutMs} ms (stats ${JSON.stringify(viewer.stats.udp)})`));
    }, timeoutMs);
    const listener = (m: 'tcp' | 'udp'): void => {
      if (m !== mode) return;
      clearTimeout(timer);
      viewer.events.off('mode', listener);
      resolve();
    };
    viewer.events.on('mode', listener);
  });
}
