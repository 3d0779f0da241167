/**
 * The admin console's HTTP server, assembled but not listening (the caller listens, and closes):
 *   /console/v1/*      sign-in, the session, the live feed, actions (console-routes.ts)
 *   /healthz, /metrics open, for load balancers and Prometheus
 * Bodies are limited to 16 KiB; every failure leaves through one error handler as
 * `{ code, message, retryable }` (error-handler.ts).
 *   /                  the console's page (admin-console/page, built into dist/admin-console/public by
 *                      bin/build-pages.ts), same origin, so the cookie stays SameSite=Strict
 */
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Counter, Registry } from 'prom-client';
import { createApiApp } from '../../protocol/http-validation.js';
import type { Logger } from '../../protocol/logger.js';
import type { CsmAdmin } from '../CsmAdmin.js';
import type { LiveFeed } from '../LiveFeed.js';
import type { Sessions } from '../Sessions.js';
import { consoleRoutes } from './console-routes.js';
import { installErrorHandling } from './error-handler.js';
import { SessionAuth, type OperatorPasswords } from './session-auth.js';

export interface ConsoleHealth {
  ok: boolean;
  consoleId: string;
  csm: 'reachable' | 'unreachable';
  lastPollAt: number;
  sessions: number;
  liveClients: number;
}

export interface ConsoleHttpDeps {
  csm: CsmAdmin;
  /** the CSM's address, for the page's links to it */
  csmUrl: string;
  feed: LiveFeed;
  sessions: Sessions;
  passwords: OperatorPasswords;
  cookieSecret: string;
  secureCookies: boolean;
  signInPerMinute: number;
  rateLimitPerMinute: number;
  metrics: Registry;
  actions: Counter<'action' | 'outcome'>;
  health: () => ConsoleHealth;
  logger: Logger;
}

/** dist/admin-console/public, beside this file's dist/admin-console/http */
const PAGE_ROOT = fileURLToPath(new URL('../public/', import.meta.url));

const BODY_LIMIT_BYTES = 16 * 1024;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export async function buildConsoleHttp(deps: ConsoleHttpDeps): Promise<FastifyInstance> {
  const app = createApiApp(deps.logger as FastifyBaseLogger, BODY_LIMIT_BYTES);
  installErrorHandling(app as unknown as FastifyInstance);
  app.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
  });
  await app.register(cookie, { secret: deps.cookieSecret, hook: 'onRequest' });

  app.get('/healthz', async (_request, reply) => {
    const state = deps.health();
    return reply.code(state.ok ? 200 : 503).send(state);
  });
  app.get('/metrics', async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()));

  // The page: static files only (its data comes from the live feed); index.html at /.
  await app.register(fastifyStatic, { root: PAGE_ROOT, prefix: '/', index: 'index.html', wildcard: false, cacheControl: false });

  await app.register(consoleRoutes, {
    prefix: '/console/v1',
    csm: deps.csm,
    csmUrl: deps.csmUrl,
    feed: deps.feed,
    sessions: deps.sessions,
    auth: new SessionAuth({ sessions: deps.sessions, secureCookies: deps.secureCookies }),
    passwords: deps.passwords,
    signInPerMinute: deps.signInPerMinute,
    rateLimitPerMinute: deps.rateLimitPerMinute,
    actions: deps.actions,
  });
  await app.ready();
  return app as unknown as FastifyInstance;
}
