/**
 * Who may open a media WebSocket, decided at the upgrade: the unit is not closing, the page's Origin
 * is allowed, the client address has a free connection slot, the path names a channel, and the
 * ticket verifies offline (publish tickets for ingest, view tickets for this unit on watch).
 * Refusals are not HTTP statuses: the upgrade completes carrying the refusal, and the socket is closed
 * at open with its code, because a browser sees close codes but never statuses. Ticket verification
 * is asynchronous, so this follows uWS's async upgrade pattern (onAborted, then cork + upgrade).
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { MEDIA_CLOSE, type MediaCloseReason } from '../../protocol/media-close-codes.js';
import { MAX_FRAME_CHANNEL } from '../../protocol/media-frame.js';
import type { Logger } from '../../protocol/logger.js';
import { TICKET_ERRORS, TicketError } from '../../protocol/ticket-errors.js';
import type { TicketVerifier } from '../../protocol/tickets.js';
import type { MediaConnData } from './ChannelMedia.js';
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
}

export class MediaAdmission {
  readonly #opts: MediaAdmissionOptions;

  constructor(options: MediaAdmissionOptions) {
    this.#opts = options;
  }

  upgrade(route: 'ingest' | 'watch', res: HttpResponse, req: HttpRequest, context: us_socket_context_t, closing: boolean): void {
    // Everything from req must be read now: it is gone after the first await.
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const origin = req.getHeader('origin').replace(/\/+$/, '');
    const token = req.getQuery('t') ?? '';
    const channelText = req.getParameter(0) ?? '';
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const data: MediaConnData = { route, ip, channelId: 0, refusal: null, viewerId: '', groupIndex: -1, counted: false, ending: false, closed: false, viewer: null };
    const accept = (): void => void res.cork(() => res.upgrade(data, key, protocol, extensions, context));
    const refuse = (reason: MediaCloseReason): void => {
      data.refusal = { code: MEDIA_CLOSE[reason].closeCode, message: MEDIA_CLOSE[reason].message };
      accept();
    };
    if (closing) return refuse('MEDIA_UNIT_CLOSING');
    const allowed = this.#opts.allowedOrigins;
    // No Origin header: not a browser, which an origin check cannot stop anyway; the ticket still applies.
    if (allowed && origin !== '' && !allowed.has(origin)) return refuse('MEDIA_ORIGIN_REFUSED');
    if (!this.#opts.limiter.acquire(ip)) return refuse('MEDIA_TOO_MANY_CONNECTIONS');
    data.counted = true;
    const channelId = CHANNEL_PATTERN.test(channelText) ? Number(channelText) : 0;
    if (channelId < 1 || channelId > MAX_FRAME_CHANNEL) return refuse('MEDIA_BAD_REQUEST');
    data.channelId = channelId;
    const verifier = this.#opts.verifier;
    if (!verifier) return refuse('MEDIA_DISABLED');

    let aborted = false;
    res.onAborted(() => {
      aborted = true;
      this.#opts.limiter.release(ip);
    });
    const verified =
      route === 'ingest'
        ? verifier.verify(token, { role: 'publish', channel: channelId })
        : verifier.verify(token, { role: 'view', channel: channelId, unit: this.#opts.unitId }).then((t) => {
            data.viewerId = t.id;
            data.groupIndex = t.group;
            return t;
          });
    verified.then(
      () => {
        if (!aborted) accept();
      },
      (error: unknown) => {
        if (aborted) return;
        const e = error instanceof TicketError ? error : new TicketError('TICKET_MALFORMED', String(error));
        this.#opts.logger.info({ route, channelId, ip, code: e.code, detail: e.message }, 'media ticket refused');
        data.refusal = { code: e.closeCode, message: TICKET_ERRORS[e.code].message };
        accept();
      },
    );
  }
}
