/**
 * The admin console process: operator sessions, the link to the CSM's admin API, the live feed and
 * HTTP, wired together. `AdminConsole.start` returns once the first poll ran (whether or not the CSM
 * answered) and the server listens; `close()` ends the live feeds, then stops taking requests. Safe
 * to call twice.
 */
import { httpUrl } from '../protocol/cli-flags.js';
import { LoopStallWatch } from '../protocol/loop-stall.js';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../protocol/logger.js';
import { ConfigError } from '../protocol/config.js';
import type { ConsoleConfig } from './config.js';
import { CsmAdmin } from './CsmAdmin.js';
import { buildConsoleHttp, type ConsoleHealth } from './http/buildConsoleHttp.js';
import { OperatorPasswords } from './http/session-auth.js';
import { LiveFeed } from './LiveFeed.js';
import { Sessions } from './Sessions.js';


export class AdminConsole {
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #loop = new LoopStallWatch();

  private constructor(
    readonly config: ConsoleConfig,
    readonly feed: LiveFeed,
    readonly sessions: Sessions,
    readonly http: FastifyInstance,
    readonly port: number,
  ) {}

  get url(): string {
    return httpUrl(this.config.host, this.port);
  }

  static async start(config: ConsoleConfig, logger: Logger): Promise<AdminConsole> {
    const passwords = new OperatorPasswords(config.operators);
    if (passwords.count === 0) throw new ConfigError('operators: no operator can sign in (set "user:scryptHash" entries; `onair csm --hash-password` makes a hash)');
    if (!config.csmUser || !config.csmPassword) throw new ConfigError("csmUser and csmPassword: the console's own operator account at the CSM");
    const csm = new CsmAdmin({ baseUrl: config.csmUrl, user: config.csmUser, password: config.csmPassword, timeoutMs: config.csmTimeoutMs }, logger.child({ part: 'csm' }));
    const feed = new LiveFeed(csm, {
      intervalMs: config.pollIntervalMs,
      historyMs: config.historyMs,
      historyStepMs: config.historyStepMs,
      maxClients: config.maxLiveClients,
      logger: logger.child({ part: 'feed' }),
    });
    const sessions = new Sessions(config.sessionIdleMs, config.maxSessions);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'onair_admin_', labels: { console: config.consoleId } });
    const actions = new Counter({ name: 'onair_admin_actions_total', help: 'operator actions forwarded to the CSM', labelNames: ['action', 'outcome'] as const, registers: [registry] });
    new Gauge({ name: 'onair_admin_sessions', help: 'signed-in sessions', registers: [registry], collect() { this.set(sessions.size); } });
    new Gauge({ name: 'onair_admin_live_clients', help: 'open live feeds', registers: [registry], collect() { this.set(feed.clients); } });
    new Gauge({ name: 'onair_admin_csm_reachable', help: '1 when the last poll of the CSM succeeded', registers: [registry], collect() { this.set(feed.state.csm === 'reachable' ? 1 : 0); } });

    const late: { console?: AdminConsole } = {};
    const health = (): ConsoleHealth =>
      late.console?.health() ?? { ok: false, consoleId: config.consoleId, csm: feed.state.csm, lastPollAt: feed.state.at, sessions: 0, liveClients: 0 };
    let http: FastifyInstance | undefined;
    try {
      http = await buildConsoleHttp({
        csm,
        csmUrl: config.csmUrl,
        feed,
        sessions,
        passwords,
        cookieSecret: config.cookieSecret || randomBytes(32).toString('base64'),
        secureCookies: config.secureCookies,
        signInPerMinute: config.signInPerMinute,
        rateLimitPerMinute: config.rateLimitPerMinute,
        metrics: registry,
        actions,
        health,
        logger: logger.child({ part: 'http' }),
      });
      await feed.start();
      await http.listen({ host: config.host, port: config.port });
      const server = new AdminConsole(config, feed, sessions, http, (http.server.address() as AddressInfo).port);
      late.console = server;
      return server;
    } catch (error) {
      await feed.stop();
      await http?.close();
      throw error;
    }
  }

  health(): ConsoleHealth {
    return {
      ok: !this.#closed && !this.#loop.stalled,
      consoleId: this.config.consoleId,
      csm: this.feed.state.csm,
      lastPollAt: this.feed.state.at,
      sessions: this.sessions.size,
      liveClients: this.feed.clients,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#loop.stop();
    // The live feeds are long-lived responses: end them first, or the server's close waits for them.
    await this.feed.stop();
    await this.http.close();
  }
}
