/**
 * The WebSocket the client needs, injected so that one client runs in the browser
 * (`globalThis.WebSocket`) and in Node (the `ws` package): both satisfy `WebSocketLike`, and both
 * constructors can be passed as `WebSocketConstructor` unchanged.
 *
 * Also the one rule for a closed media socket: whether asking the CSM again can help.
 */
import { MEDIA_CLOSE, MEDIA_CLOSE_BY_CODE } from '../../protocol/media-close-codes.js';
import { TICKET_ERRORS } from '../../protocol/ticket-errors.js';

// The handlers take `any` so that both the DOM's and ws's event classes fit; the client reads only
// `data`, `code` and `reason` from them.
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket.OPEN in both implementations */
export const WS_OPEN = 1;

/** Close code a client uses when its caller closes or ends (a normal closure). */
export const CLOSE_NORMAL = 1000;

/** Closes a socket we are done with: no handler of ours runs any more, whatever state it is in. */
export function closeQuietly(ws: WebSocketLike | null, reason: string): void {
  if (!ws) return;
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => {};
  try {
    ws.close(CLOSE_NORMAL, reason);
  } catch {
    // already closing
  }
}

/** What to do after a media socket closed with `code`. */
export type CloseVerdict = 'rejoin' | 'final';

/**
 * - 4401 (ticket expired): ask the CSM for a fresh ticket → rejoin;
 * - any other ticket refusal (4400–4408): a fresh ticket of the same kind would be refused too → final;
 * - a media close code (4409–4426): its table's `rejoin` flag (4420 MEDIA_REJOIN → rejoin, 4414 replaced → final);
 * - anything else (1006 connection lost, 1001 going away, 1011, an unknown code): the unit is gone or
 *   broken → rejoin; the CSM says where to go now.
 */
export function closeVerdict(code: number): CloseVerdict {
  if (code === TICKET_ERRORS.TICKET_EXPIRED.closeCode) return 'rejoin';
  if (code >= 4400 && code <= 4408) return 'final';
  const media = MEDIA_CLOSE_BY_CODE.get(code);
  if (media) return MEDIA_CLOSE[media].rejoin ? 'rejoin' : 'final';
  return 'rejoin';
}

/** The binary payload of a message event as bytes (ArrayBuffer in browsers and ws with binaryType 'arraybuffer'). */
export function messageBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/** A unit's base URL (ws://host:port, maybe with a trailing slash) joined with a media path. */
export function mediaUrl(base: string, route: 'ingest' | 'watch', channelId: number, ticket: string): string {
  return `${base.replace(/\/+$/, '')}/${route}/${channelId}?t=${encodeURIComponent(ticket)}`;
}
