/**
 * The media state of one channel on this unit: its ring buffer (created with the channel's first
 * group here, closed when the last one goes), the publisher's socket when this unit holds the root,
 * and the TCP viewers reading the ring. MediaPlane owns the sockets; this is bookkeeping only.
 */
import type { WebSocket } from 'uWebSockets.js';
import { RingBuffer, type RingOptionsInput, type RingReader } from './RingBuffer.js';

/** What a media socket carries (uWS user data). Filled in by the upgrade and admit(); the rest by open(). */
export interface MediaConnData {
  readonly route: 'ingest' | 'watch';
  readonly ip: string;
  channelId: number;
  /** the ticket until admit() reads it */
  token: string;
  /** the ticket verified: open's work has run or runs now */
  admitted: boolean;
  /** messages that arrived before the ticket was verified (copies; uWS reuses its buffer), bounded */
  pending: ArrayBuffer[];
  pendingBytes: number;
  /** set when the upgrade refused: open() closes at once with this code (browsers only see close codes) */
  refusal: { code: number; message: string } | null;
  /** the verified ticket's grant: the viewer id and group for `watch` */
  viewerId: string;
  groupIndex: number;
  /** a connection slot of `ip` is held until close */
  counted: boolean;
  /** end() was called; close has not run yet */
  ending: boolean;
  closed: boolean;
  viewer: ViewerConn | null;
}

export type MediaSocket = WebSocket<MediaConnData>;

export interface ViewerConn {
  readonly ws: MediaSocket;
  readonly channelId: number;
  readonly groupIndex: number;
  readonly viewerId: string;
  readonly reader: RingReader;
  /** no longer fed; when set by the unit (CSM drop, replacement) close() must not call removeViewer */
  detached: boolean;
  /** reader stats already added to the channel counters */
  countedSkips: number;
  countedDrops: number;
}

export class ChannelMedia {
  readonly ring: RingBuffer;
  publisher: MediaSocket | null = null;
  readonly viewers = new Set<ViewerConn>();
  /** ingest bytes since the last stats tick */
  ingestBytes = 0;

  constructor(
    readonly channelId: number,
    ringOptions: RingOptionsInput,
  ) {
    this.ring = new RingBuffer(ringOptions);
  }
}
