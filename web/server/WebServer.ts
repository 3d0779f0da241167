/**
 * The web server process: the channel store, the link to the CSM, the periodic channel sync, metrics
 * and HTTP, wired together. `WebServer.start` returns once the first sync ran (whether or not the CSM
 * answered) and the server listens; `close()` stops taking requests, stops the sync, then closes the
 * store (quitting Redis). Safe to call twice.
 */
import { httpUrl } from '../../protocol/cli-flags.js';
import { LoopStallWatch } from '../../protocol/loop-stall.js';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../protocol/logger.js';
import { ChannelSync } from './ChannelSync.js';
import { resolvePagesDir, type WebConfig } from './config.js';
import { CsmLink } from './CsmLink.js';
import { buildWebHttp } from './http/buildWebHttp.js';
import type { WebHealth } from './http/ops-routes.js';
import { isFile } from './http/pages.js';
import { createWebMetrics } from './metrics.js';
import { createWebStores, type WebStores } from './store/createWebStores.js';

/** Health fails when the event loop has stalled this long: a load balancer should stop sending here. */
/** how long close() lets a sync in flight finish before closing the store under it */
const SYNC_STOP_WAIT_MS = 1000;

export class WebServer {
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #loop = new LoopStallWatch();

  private constructor(
    readonly config: WebConfig,
    readonly logger: Logger,
    readonly stores: WebStores,
    readonly sync: ChannelSync,
    readonly http: FastifyInstance,
    readonly port: number,
  ) {}

  get url(): string {
    return httpUrl(this.config.host, this.port);
  }

  static async start(config: WebConfig, logger: Logger): Promise<WebServer> {
    const stores = createWebStores(config, logger.child({ part: 'store' }));
    let sync: ChannelSync | undefined;
    let http: FastifyInstance | undefined;
    try {
      const csm = new CsmLink({ baseUrl: config.csmUrl, token: config.csmServiceToken, timeoutMs: config.csmTimeoutMs }, logger.child({ part: 'csm' }));
      const metrics = createWebMetrics(config.webId, stores.channels);
      const syncer = new ChannelSync({
        store: stores.channels,
        listChannels: () => csm.listChannels(),
        intervalMs: config.channelSyncMs,
        endedRetentionMs: config.endedRetentionMs,
        logger: logger.child({ part: 'sync' }),
        failed: () => metrics.syncFailures.inc(),
      });
      sync = syncer;
      const pagesDir = resolvePagesDir(config.pagesDir);
      if (!(await isFile(join(pagesDir, 'index.html')))) logger.warn({ pagesDir }, 'no built pages here: / answers WEB_ERR_PAGES_NOT_BUILT until `npm run build` writes them');
      const late: { server?: WebServer } = {};
      const health = (): WebHealth =>
        late.server?.health() ?? { ok: false, webId: config.webId, csm: syncer.csm, lastSyncAt: syncer.lastSyncAt, loopStalledMs: 0 };
      http = await buildWebHttp({
        csm,
        store: stores.channels,
        metrics,
        health,
        logger: logger.child({ part: 'http' }),
        rateLimitPerMinute: config.rateLimitPerMinute,
        pagesDir,
      });
      await syncer.start();
      await http.listen({ host: config.host, port: config.port });
      const port = (http.server.address() as AddressInfo).port;
      const server = new WebServer(config, logger, stores, syncer, http, port);
      late.server = server;
      return server;
    } catch (error) {
      await http?.close();
      await sync?.stop();
      await stores.close();
      throw error;
    }
  }

  health(): WebHealth {
    const stalledMs = this.#loop.stalledMs;
    return {
      ok: !this.#closed && !this.#loop.stalled,
      webId: this.config.webId,
      csm: this.sync.csm,
      lastSyncAt: this.sync.lastSyncAt,
      loopStalledMs: stalledMs,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#loop.stop();
    await this.http.close();
    // A sync stuck on a Redis that is away would hold the stop for its retries: wait a little, then
    // close the store under it (its run fails, which is logged).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.sync.stop(), new Promise((resolve) => (timer = setTimeout(resolve, SYNC_STOP_WAIT_MS)))]);
    clearTimeout(timer);
    await this.stores.close();
  }
}
