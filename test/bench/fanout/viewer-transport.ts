/**
 * Where a generator viewer gets its frames from: the plug-in point for transports. Every transport
 * calls the same handlers with whole encoded frames, so every figure is computed the same way.
 *
 * - `tcp`: a raw WebSocket on /watch (raw-ws-viewer.ts);
 * - `udp`: not built yet. It will open the same /watch WebSocket for signalling, ask for a data
 *   channel (`udp-start`, protocol/media-messages.ts), answer the unit's offer with node-datachannel,
 *   reassemble chunks with protocol/FrameReassembler.ts and hand each frame to `onBinary`.
 */
import { RawWsViewer, type RawWsHandlers } from './raw-ws-viewer.js';

export type Transport = 'tcp' | 'udp';

export interface ViewerConnection {
  open(): void;
  close(): void;
  /** the local TCP port, when the transport has one */
  readonly localPort: number | undefined;
}

export function createViewerConnection(transport: Transport, url: string, handlers: RawWsHandlers, slowBytesPerSec: number): ViewerConnection {
  switch (transport) {
    case 'tcp':
      return new RawWsViewer(url, handlers, slowBytesPerSec);
    case 'udp':
      throw new Error('the fanout bench has no UDP viewer yet (viewer-transport.ts says how to add one)');
  }
}
