/**
 * The media state of one channel on this unit: its ring buffer (created with the channel's first
 * group here, closed when the last one goes), the publisher's socket when this unit holds the root,
 * the TCP viewers and child units' relay links reading the ring. MediaPlane owns the sockets; this is bookkeeping only.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { VideoHoldReason } from '../../protocol/media-messages.js';
import type { RelayCredentials } from './relay-auth.js';
import { VIEWER_SEND_BOUND } from './limits.js';
import { RingBuffer, type RingOptionsInput, type RingReader } from './RingBuffer.js';
import { FrameCadence } from './FrameCadence.js';

/** What a media socket carries (uWS user data). Filled in by the upgrade and admit(); the rest by open(). */
export interface MediaConnData {
  readonly route: MediaRoute;
  readonly ip: string;
  channelId: number;
  /** the ticket until admit() reads it (ingest, watch) */
  token: string;
  /** the child unit's HMAC credentials until admit() reads them (relay) */
  relayCredentials: RelayCredentials | null;
  /** the ticket verified: open's work has run or runs now */
  admitted: boolean;
  /** messages that arrived before the ticket was verified (copies; uWS reuses its buffer), bounded */
  pending: { message: ArrayBuffer; isBinary: boolean }[];
  pendingBytes: number;
  /** set when the upgrade refused: open() closes at once with this code (browsers only see close codes) */
  refusal: { code: number; message: string } | null;
  /** the verified grant: the viewer id and group for `watch`; `relay:<unit id>` and -1 for `relay` */
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

/** ingest: the publisher; watch: a viewer; relay: a child unit's link for the channel */
export type MediaRoute = 'ingest' | 'watch' | 'relay';

/** A reader of the channel's ring on this unit: a viewer, or a child unit's relay link (not in UnitGroups). */
export interface ViewerConn {
  readonly kind: 'viewer' | 'relay';
  readonly ws: MediaSocket;
  readonly channelId: number;
  readonly groupIndex: number;
  readonly viewerId: string;
  readonly reader: RingReader;
  /** no longer fed; when set by the unit (CSM drop, replacement) close() must not call removeViewer */
  detached: boolean;
  /** where its frames go: this WebSocket, or its data channel once that is open */
  mode: 'tcp' | 'udp';
  /** subscribed to the channel's frame topic: uWS sends it every frame; its reader is parked */
  live: boolean;
  /** the viewer's last report (report message), for the unit's per-viewer reports */
  report: { loss: number; latencyMs: number | null; rxKbps: number | null; at: number } | null;
  /**
   * Its video is held back (audio and text go on), and why, as it was told: `behind`, its own reports
   * say it is far behind (kernel and network queues the unit cannot see), until they say it caught
   * up; `slow-link`, its link carried less than the channel. null: video flows.
   */
  videoHold: VideoHoldReason | null;
  /** when it last became behind, when it last caught up (performance.now ms), and how long it must stay audio-only */
  behindSince: number;
  caughtUpAt: number;
  behindHoldMs: number;
  /**
   * The most the viewer reported receiving (kbit/s) while behind with a backlog to drain, when it
   * reads as fast as its link allows: what its link carries. null: not measured in this spell.
   */
  linkKbps: number | null;
  /** the reader's bytesSent when this spell began: what the unit handed it since, against what it received */
  bytesSentAtBehind: number;
  /** the unit's own loop lag at this spell's reports, the most: over UNIT_BUSY_LAG_MS the unit may be the slow part, so no verdict on the link */
  unitLagMaxMs: number;
  /** reader stats already added to the channel counters */
  countedSkips: number;
  countedDrops: number;
}

export class ChannelMedia {
  readonly ring: RingBuffer;
  /** the uWS topics of the channel here: live readers' frames, and chat lines (made once, used per frame) */
  readonly frameTopic: string;
  readonly chatTopic: string;
  publisher: MediaSocket | null = null;
  /** viewers and relay children */
  readonly viewers = new Set<ViewerConn>();
  /** those of them fed from their ring cursor by JavaScript (not live: behind, UDP, or new) */
  readonly pumped = new Set<ViewerConn>();
  /** how many are live (subscribed to the frame topic) */
  live = 0;
  /** the first frame number written since the last fan-out; -1 when all went out */
  unsentFrom = -1;
  /** pending fan-out of a batch (MediaPlane batchMs) */
  batchTimer: NodeJS.Timeout | null = null;
  /** when the pending batch's first frame was written (performance.now) */
  batchStartedAt = 0;
  /** the rhythm of this channel's audio and video, for holding a batch only while a frame is due */
  readonly cadence = new FrameCadence();
  /** a reader's socket buffering more than this is congested (MediaPlane, from the bitrate) */
  sendBound = VIEWER_SEND_BOUND;
  /** ingest bytes since the last stats tick */
  ingestBytes = 0;
  /** when a keyframe was last asked of the publisher (performance.now ms), to pass on at most one per interval */
  lastKeyframeRequestAt = -Infinity;

  constructor(
    readonly channelId: number,
    ringOptions: RingOptionsInput,
  ) {
    this.ring = new RingBuffer(ringOptions);
    this.frameTopic = `frames/${channelId}`;
    this.chatTopic = `chat/${channelId}`;
  }
}
