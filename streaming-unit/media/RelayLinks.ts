/**
 * This unit's relay links, the child side (paper Fig. 9: a group chained on another unit). When the
 * CSM links a channel here to a parent unit, one WebSocket per channel goes to the parent's
 * `/relay/:channelId` — never one per viewer — signed with the cluster secret (relay-auth.ts). Frames
 * that arrive are validated and handed to the media plane, which writes them into this unit's own
 * ring and fans them out locally (and to this unit's own relay children). Chat lines come down the
 * same link; chat lines and keyframe requests of this unit's viewers go up it.
 *
 * A broken link reconnects with backoff while the CSM still names that parent, and skips what the
 * parent replays that it already has (a new reader starts at the newest keyframe); a new parent (the CSM
 * re-parents when the parent unit died) replaces the link; no parent (this unit became the root)
 * closes it. The `ws` package is the client: uWebSockets.js serves but does not connect.
 */
import { PieceJoiner } from '../../protocol/frame-pieces.js';
import WebSocket from 'ws';
import { backoffDelay } from '../../protocol/backoff.js';
import type { Logger } from '../../protocol/logger.js';
import { FrameError, peekFrameHeader, type FrameHeader } from '../../protocol/media-frame.js';
import { encodeMessage, parseUnitMessage, type UnitMessage } from '../../protocol/media-messages.js';
import type { RelayParent } from '../../protocol/control-messages.js';
import { relayQuery } from './relay-auth.js';
import { INGEST_MAX_PAYLOAD } from './limits.js';

export interface RelayLinksOptions {
  unitId: string;
  clusterSecret: string;
  logger: Logger;
  /** a frame from the parent, validated; `bytes` is only valid during the call */
  onFrame: (channelId: number, bytes: Uint8Array, header: FrameHeader) => void;
  /** a chat line from the parent (already stamped by the root) */
  onChat: (channelId: number, line: UnitMessage & { t: 'chat' }) => void;
  /** backoff between reconnects (default 200 … 3,000 ms) */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

interface Link {
  readonly channelId: number;
  readonly parent: RelayParent;
  socket: WebSocket | null;
  failures: number;
  timer: NodeJS.Timeout | null;
  open: boolean;
  framesIn: number;
  /** seq of the last frame taken from the parent, over every connection of this link */
  lastSeq: number | null;
  /** after a reconnect: frames up to this seq are already in our ring (the parent replays from its newest keyframe) */
  replayedUpTo: number | null;
  /** large frames arrive in pieces (protocol/frame-pieces.ts); per connection */
  pieces: PieceJoiner;
}

/** a replay is at most this far behind; a frame further back is a new numbering (the publisher started over) */
const REPLAY_WINDOW_FRAMES = 100_000;
const HALF_RANGE = 0x8000_0000;

export class RelayLinks {
  readonly #opts: RelayLinksOptions;
  readonly #logger: Logger;
  readonly #links = new Map<number, Link>();
  #closed = false;

  constructor(options: RelayLinksOptions) {
    this.#opts = options;
    this.#logger = options.logger.child({ component: 'relay' });
  }

  /** Follows the CSM: link the channel to `parent`, or unlink it (null). Same parent: nothing changes. */
  link(channelId: number, parent: RelayParent | null): void {
    const current = this.#links.get(channelId);
    if (current && parent && current.parent.unitId === parent.unitId && current.parent.address === parent.address) return;
    if (current) this.unlink(channelId);
    if (!parent || this.#closed) return;
    // A new parent relays the same stream: what the old one gave us must not be written twice either.
    const link: Link = { channelId, parent, socket: null, failures: 0, timer: null, open: false, framesIn: 0, lastSeq: current?.lastSeq ?? null, replayedUpTo: null, pieces: new PieceJoiner() };
    this.#links.set(channelId, link);
    this.#connect(link);
  }

  unlink(channelId: number): void {
    const link = this.#links.get(channelId);
    if (!link) return;
    this.#links.delete(channelId);
    if (link.timer) clearTimeout(link.timer);
    link.socket?.close(1000, 'unlinked');
    link.socket = null;
  }

  /** The parent unit's id for the channel, when linked. */
  parentOf(channelId: number): string | null {
    return this.#links.get(channelId)?.parent.unitId ?? null;
  }

  isOpen(channelId: number): boolean {
    return this.#links.get(channelId)?.open ?? false;
  }

  /** Sends a chat line or keyframe request towards the root; false when the link is not open. */
  sendUp(channelId: number, message: UnitMessage): boolean {
    const link = this.#links.get(channelId);
    if (!link?.open || !link.socket) return false;
    link.socket.send(encodeMessage(message));
    return true;
  }

  close(): void {
    this.#closed = true;
    for (const channelId of [...this.#links.keys()]) this.unlink(channelId);
  }

  #connect(link: Link): void {
    const url = `${link.parent.address.replace(/\/+$/, '')}/relay/${link.channelId}?${relayQuery(this.#opts.clusterSecret, this.#opts.unitId, link.channelId)}`;
    const socket = new WebSocket(url, { maxPayload: INGEST_MAX_PAYLOAD, perMessageDeflate: false });
    link.socket = socket;
    link.pieces.reset();
    socket.binaryType = 'nodebuffer';
    socket.on('open', () => {
      link.open = true;
      link.replayedUpTo = link.lastSeq;
      this.#logger.info({ channelId: link.channelId, parent: link.parent.unitId }, 'relay link open');
    });
    socket.on('message', (data: Buffer, isBinary: boolean) => this.#message(link, socket, data, isBinary));
    socket.on('error', (error) => this.#logger.debug({ channelId: link.channelId, err: error.message }, 'relay link error'));
    socket.on('close', (code: number, reason: Buffer) => {
      if (link.socket !== socket) return;
      link.socket = null;
      if (link.open && link.framesIn > 0) link.failures = 0;
      link.open = false;
      link.framesIn = 0;
      if (this.#links.get(link.channelId) !== link) return;
      const delay = backoffDelay(link.failures++, { minMs: this.#opts.reconnectMinMs ?? 200, maxMs: this.#opts.reconnectMaxMs ?? 3000 });
      this.#logger.warn({ channelId: link.channelId, parent: link.parent.unitId, code, reason: reason.toString(), retryInMs: delay }, 'relay link lost; reconnecting');
      link.timer = setTimeout(() => {
        link.timer = null;
        if (this.#links.get(link.channelId) === link) this.#connect(link);
      }, delay);
      link.timer.unref();
    });
  }

  #message(link: Link, socket: WebSocket, data: Buffer, isBinary: boolean): void {
    if (link.socket !== socket) return;
    if (!isBinary) {
      const message = parseUnitMessage(data.toString('utf8'));
      if (message?.t === 'chat') this.#opts.onChat(link.channelId, message);
      return;
    }
    let header: FrameHeader;
    let frame: Uint8Array | null;
    try {
      frame = link.pieces.push(data);
      if (!frame) return;
      header = peekFrameHeader(frame);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#logger.warn({ channelId: link.channelId, code: error.code }, 'bad frame from the relay parent; reconnecting');
      socket.terminate();
      return;
    }
    if (header.channel !== link.channelId) {
      this.#logger.warn({ channelId: link.channelId, got: header.channel }, 'relay parent sent another channel; reconnecting');
      socket.terminate();
      return;
    }
    if (link.replayedUpTo !== null) {
      const behind = (link.replayedUpTo - header.seq) >>> 0;
      if (behind < HALF_RANGE && behind <= REPLAY_WINDOW_FRAMES) return; // already written here before the link broke
      link.replayedUpTo = null;
    }
    link.framesIn++;
    link.lastSeq = header.seq;
    this.#opts.onFrame(link.channelId, frame, header);
  }
}
