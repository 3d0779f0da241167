/**
 * The web server's browser-facing API (`/api/v1` on the web origin), declared once for the web
 * server, the pages and the tests. Opening, joining, resuming and ending use the same paths and
 * answers as the CSM's service API (protocol/service-api.ts), so web/client's CsmApi works against
 * either; the web server adds the channel metadata it keeps (title, broadcaster, started at, current
 * and peak viewers) and answers the channel list from its own store.
 */

/** A live channel as the home page and the broadcast page show it. */
export interface WebChannel {
  channelId: number;
  title: string;
  broadcaster: string;
  /** ms since the epoch when the channel was opened */
  startedAt: number;
  /** viewers now (from the CSM's periodic channel info) */
  viewers: number;
  /** the most viewers seen at once since it started */
  peakViewers: number;
  /** false while the broadcaster is away (its unit died, its page is reconnecting) */
  publisherConnected: boolean;
  /**
   * ms since the epoch when the channel ended; only on an ended channel, which
   * `GET /api/v1/channels/:id` still answers for a while (the list never holds one)
   */
  endedAt?: number;
}

/** `GET /api/v1/channels` */
export interface WebChannelList {
  channels: WebChannel[];
}
