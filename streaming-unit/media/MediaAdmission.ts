/**
 * Who may open a media WebSocket, decided at the upgrade: the unit is not closing, the page's Origin
 * is allowed, the client address has a free connection slot, the path names a channel, and the
 * ticket verifies offline (publish tickets for ingest, view tickets for this unit on watch; relay links
 * between units carry an HMAC under the cluster secret instead, relay-auth.ts).
 * Refusals are not HTTP statuses: the upgrade completes carrying the refusal, and the socket is closed
 * at open with its code, because a browser sees close codes but never statuses. Ticket verification
 * is asynchronous (jose), so it runs after the upgrade, while the socket's messages wait (admit).
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { MEDIA_CLOSE, type MediaCloseReason } from '../../protocol/media-close-codes.js';
import { MAX_FRAME_CHANNEL } from '../../protocol/media-frame.js';
import type { Logger } from '../../protocol/logger.js';
import { TICKET_ERRORS, TicketError } from '../../protocol/ticket-errors.js';
import type { TicketVerifier } from '../../protocol/tickets.js';
import type { MediaConnData, MediaRoute } from './ChannelMedia.js';
import { verifyRelay } from './relay-auth.js';
import type { ConnectionLimiter } from './ConnectionLimiter.js';

const CHANNEL_PATTERN = /^[1-9][0-9]{0,9}$/;

export interface MediaAdmissionOptions {
  unitId: string;
  /** null: no ticket key configured, every media connection is refused with MEDIA_DISABLED */
  verifier: TicketVerifier | null;
  /** null: any origin */
  allowedOrigins: ReadonlySet<string> | null;
  limiter: ConnectionLimiter;
  logger: Logger;
  /** the cluster secret: relay links between units are signed with it */
  clusterSecret: string;
}

export class MediaAdmission {
  readonly #opts: MediaAdmissionOptions;

  constructor(options: MediaAdmissionOptions) {
    this.#opts = options;
  }

  /**
   * Runs the synchronous checks and completes the upgrade at once, inside uWS's own upgrade callback.
   * The ticket is verified afterwards by `admit` (from `open`): an upgrade completed later from a
   * promise, inside `res.cork`, is uWS's documented async pattern, but uWS v20 then sometimes closes
   * the fresh socket without a close frame (uNetworking/uWebSockets#1928, fixed upstream by #1929;
   * not in the uws-pack build we can install). We saw exactly that: viewers and publishers dropped
   * with 1006 right after open when several connected together.
   */
  upgrade(route: MediaRoute, res: HttpResponse, req: HttpRequest, context: us_socket_context_t, closing: boolean): void {
    const origin = req.getHeader('origin').replace(/\/+$/, '');
    const channelText = req.getParameter(0) ?? '';
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const data: MediaConnData = {
      route,
      ip,
      channelId: 0,
      token: route === 'relay' ? '' : (req.getQuery('t') ?? ''),
      relayCredentials: route === 'relay' ? { unitId: req.getQuery('u') ?? '', timestampMs: Number(req.getQuery('ts') ?? 'NaN'), signature: req.getQuery('sig') ?? '' } : null,
      refusal: null,
      admitted: false,
      pending: [],
      pendingBytes: 0,
      viewerId: '',
      groupIndex: -1,
      counted: false,
      ending: false,
      closed: false,
      viewer: null,
    };
    const refusal = this.#syncRefusal(data, origin, channelText, closing);
    if (refusal) data.refusal = { code: MEDIA_CLOSE[refusal].closeCode, message: MEDIA_CLOSE[refusal].message };
    res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  }

  /** The checks that need no I/O; holds a connection slot of the address when they pass that far. */
  #syncRefusal(data: MediaConnData, origin: string, channelText: string, closing: boolean): MediaCloseReason | null {
    if (closing) return 'MEDIA_UNIT_CLOSING';
    const allowed = this.#opts.allowedOrigins;
    // No Origin header: not a browser, which an origin check cannot stop anyway; the ticket still applies.
    if (allowed && origin !== '' && !allowed.has(origin)) return 'MEDIA_ORIGIN_REFUSED';
    if (!this.#opts.limiter.acquire(data.ip)) return 'MEDIA_TOO_MANY_CONNECTIONS';
    data.counted = true;
    const channelId = CHANNEL_PATTERN.test(channelText) ? Number(channelText) : 0;
    if (channelId < 1 || channelId > MAX_FRAME_CHANNEL) return 'MEDIA_BAD_REQUEST';
    data.channelId = channelId;
    if (!this.#opts.verifier) return 'MEDIA_DISABLED';
    return null;
  }

  /**
   * Verifies the connection's ticket (publish tickets for ingest, view tickets for this unit on
   * watch). Resolves, never rejects: on refusal `data.refusal` holds the close code to send, else
   * the grant is in `data` and `data.admitted` is set.
   */
  async admit(data: MediaConnData): Promise<void> {
    const verifier = this.#opts.verifier;
    if (data.refusal || !verifier) return;
    if (data.route === 'relay') return this.#admitRelay(data);
    const token = data.token;
    data.token = '';
    try {
      if (data.route === 'ingest') await verifier.verify(token, { role: 'publish', channel: data.channelId });
      else {
        const t = await verifier.verify(token, { role: 'view', channel: data.channelId, unit: this.#opts.unitId });
        data.viewerId = t.id;
        data.groupIndex = t.group;
      }
      data.admitted = true;
    } catch (error) {
      const e = error instanceof TicketError ? error : new TicketError('TICKET_MALFORMED', String(error));
      this.#opts.logger.info({ route: data.route, channelId: data.channelId, ip: data.ip, code: e.code, detail: e.message }, 'media ticket refused');
      data.refusal = { code: e.closeCode, message: TICKET_ERRORS[e.code].message };
    }
  }

  #admitRelay(data: MediaConnData): void {
    const credentials = data.relayCredentials;
    data.relayCredentials = null;
    const unitId = credentials ? verifyRelay(this.#opts.clusterSecret, data.channelId, credentials) : null;
    if (unitId === null) {
      this.#opts.logger.warn({ channelId: data.channelId, ip: data.ip }, 'relay link refused: bad or stale signature');
      data.refusal = { code: MEDIA_CLOSE.MEDIA_RELAY_REFUSED.closeCode, message: MEDIA_CLOSE.MEDIA_RELAY_REFUSED.message };
      return;
    }
    data.viewerId = `relay:${unitId}`;
    data.admitted = true;
  }
}
