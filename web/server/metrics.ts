/**
 * The web server's Prometheus metrics. The channel gauges are read from the channel store when
 * scraped (one read serves both); a store that cannot be read keeps the last values.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebChannelStore } from './store/WebChannelStore.js';

export interface WebMetrics {
  registry: Registry;
  syncFailures: Counter;
  apiRequests: Counter<'route' | 'status'>;
}

/** a scrape reads the store once for both gauges; a second read within this window reuses it */
const SNAPSHOT_MS = 500;

export function createWebMetrics(webId: string, store: WebChannelStore): WebMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'onair_web_', labels: { web: webId } });

  let last = { channels: 0, viewers: 0 };
  let pending: { at: number; read: Promise<typeof last> } | null = null;
  const snapshot = (): Promise<typeof last> => {
    if (pending && Date.now() - pending.at < SNAPSHOT_MS) return pending.read;
    const read = store.list().then(
      (records) => {
        const live = records.filter((r) => r.endedAt === null);
        last = { channels: live.length, viewers: live.reduce((n, r) => n + r.viewers, 0) };
        return last;
      },
      () => last,
    );
    pending = { at: Date.now(), read };
    return read;
  };
  new Gauge({ name: 'onair_web_channels_live', help: 'Live channels in the web channel store', registers: [registry], async collect() { this.set((await snapshot()).channels); } });
  new Gauge({ name: 'onair_web_viewers', help: 'Viewers of the live channels, as of the last sync with the CSM', registers: [registry], async collect() { this.set((await snapshot()).viewers); } });
  return {
    registry,
    syncFailures: new Counter({ name: 'onair_web_channel_sync_failures_total', help: 'Channel syncs with the CSM that failed (CSM away, bad answer, store down)', registers: [registry] }),
    apiRequests: new Counter({ name: 'onair_web_api_requests_total', help: 'Browser API requests by route pattern and status', labelNames: ['route', 'status'], registers: [registry] }),
  };
}
