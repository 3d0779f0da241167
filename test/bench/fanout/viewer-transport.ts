/**
 * Where a generator viewer gets its frames from: the plug-in point for transports. Every transport
 * calls the same handlers with whole encoded frames, so every figure is computed the same way.
 *
 * - `tcp`: a raw WebSocket on /watch (raw-ws-viewer.ts);
 * - `udp`: the same /watch WebSocket for signalling (`udp-start`, protocol/media-messages.ts) and the
 *   frames until the unit switches, then node-datachannel (udp-viewer.ts) on the `carrier` asked for:
 *   a data channel, or RTP packets on a media track. Chunks counted per seq (udp-frames.ts), whole
 *   frames to `onUdpFrame`, frames that never came whole to `onUdpLost`. Its module (and node-datachannel) is loaded by `prepareTransport('udp')` only, and
 *   `cleanupTransports()` runs node-datachannel's cleanup in a process that made peer connections.
 */
import { peekFrameHeader } from '../../../protocol/media-frame.js';
import type { UdpCarrier } from '../../../protocol/media-messages.js';
import { DelayTracker } from '../../../web/client/DelayTracker.js';
import { RawWsViewer, type RawWsHandlers } from './raw-ws-viewer.js';
import type { ChunkOutcome } from './udp-frames.js';

export type Transport = 'tcp' | 'udp';

/**
 * A UDP viewer's path: `negotiating` (on TCP, udp-start sent), `udp` (the unit switched), `refused`
 * (the unit answered `mode: tcp`), `fallback` (`mode: tcp` after `mode: udp`), `failed` (no switch
 * within the viewer's timeout, or node-datachannel refused the offer).
 */
export type UdpState = 'negotiating' | 'udp' | 'refused' | 'fallback' | 'failed';

export interface ViewerHandlers extends RawWsHandlers {
  /** udp: a frame whose chunks all arrived (its seq's gaps are not inferred: `onUdpLost` says what never came) */
  onUdpFrame(frame: Buffer, readAtMs: number): void;
  /** udp: seqs given up on */
  onUdpLost(frames: number): void;
  /** udp: one chunk (a data-channel message, or the chunk in an RTP packet) */
  onUdpChunk(bytes: number, outcome: ChunkOutcome): void;
  /** udp: the unit moved the frames to the data channel (`udp`) or back to the WebSocket (`tcp`) */
  onMode(mode: 'tcp' | 'udp', atMs: number): void;
}

export interface ViewerConnection {
  open(): void;
  close(): void;
  /** the local TCP port, when the transport has one */
  readonly localPort: number | undefined;
  /** null on TCP */
  readonly udpState: UdpState | null;
  /** udp: WebSocket frames before the switch */
  readonly wsFramesBeforeUdp: number;
}

/** how often a viewer reports, as web/client's Viewer does */
const REPORT_INTERVAL_MS = 2000;

/**
 * A TCP viewer that reports like the real client (web/client Viewer): every 2 s its frames' delay over
 * the fastest one (DelayTracker, from the media timestamps) and what it received, which the unit uses
 * to send a viewer that falls far behind audio only, and to keep it there when its link is slower
 * than the channel.
 */
class TcpViewer extends RawWsViewer implements ViewerConnection {
  readonly udpState = null;
  readonly wsFramesBeforeUdp = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(url: string, handlers: ViewerHandlers, slowBytesPerSec: number) {
    const delay = new DelayTracker();
    let bytes = 0;
    let since = performance.now();
    const report = (): string => {
      const now = performance.now();
      const rxKbps = Math.round((bytes * 8) / Math.max(1, now - since));
      bytes = 0;
      since = now;
      return JSON.stringify({ t: 'report', mode: 'tcp', loss: 0, latencyMs: delay.lastMs === null ? null : Math.round(delay.lastMs), rxKbps });
    };
    super(
      url,
      {
        ...handlers,
        onBinary: (message, readAtMs) => {
          bytes += message.length;
          try {
            delay.add(performance.timeOrigin + readAtMs, peekFrameHeader(message).timestamp);
          } catch {
            // not a frame: the stats count it
          }
          handlers.onBinary(message, readAtMs);
        },
        onOpen: () => {
          since = performance.now();
          this.#timer = setInterval(() => this.sendText(report()), REPORT_INTERVAL_MS);
          this.#timer.unref();
          handlers.onOpen();
        },
        onClose: (code, reason) => {
          if (this.#timer) clearInterval(this.#timer);
          handlers.onClose(code, reason);
        },
      },
      slowBytesPerSec,
    );
  }
}

type UdpModule = typeof import('./udp-viewer.js');
let udpModule: UdpModule | null = null;

/** Loads what a transport needs; before createViewerConnection. */
export async function prepareTransport(transport: Transport): Promise<void> {
  if (transport === 'udp') udpModule ??= await import('./udp-viewer.js');
}

/** At process end: node-datachannel's cleanup, if this process made peer connections. */
export function cleanupTransports(): void {
  udpModule?.cleanupPeerConnections();
}

/** `carrier`: how a UDP viewer's chunks travel (ignored on TCP). */
export function createViewerConnection(transport: Transport, url: string, handlers: ViewerHandlers, slowBytesPerSec: number, carrier: UdpCarrier): ViewerConnection {
  switch (transport) {
    case 'tcp':
      return new TcpViewer(url, handlers, slowBytesPerSec);
    case 'udp':
      if (!udpModule) throw new Error("prepareTransport('udp') first");
      if (slowBytesPerSec > 0) throw new Error('no slow mode for UDP viewers');
      return new udpModule.UdpViewer(url, handlers, carrier);
  }
}
