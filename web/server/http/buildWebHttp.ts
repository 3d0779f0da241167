/**
 * The web server's HTTP server, assembled but not listening (the caller listens, and closes):
 *   /            the site's pages (pages.ts)
 *   /api/v1/*    the browser API (api-routes.ts) — rate-limited per client address
 *   /healthz, /metrics                      — open, for load balancers and Prometheus
 *   /docs        Swagger UI; /docs/json the OpenAPI document generated from the route schemas
 *
 * Every route validates its input with a strict schema and every failure leaves through one error
 * handler (error-handler.ts) as `{ code, message, retryable }`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from '../../../protocol/logger.js';
import type { CsmLink } from '../CsmLink.js';
import type { WebMetrics } from '../metrics.js';
import type { WebChannelStore } from '../store/WebChannelStore.js';
import { apiRoutes } from './api-routes.js';
import { createApiApp } from '../../../protocol/http-validation.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling } from './error-handler.js';
import { countApiRequests, opsRoutes, type WebHealth } from './ops-routes.js';
import { pages } from './pages.js';

export interface WebHttpDeps {
  csm: CsmLink;
  store: WebChannelStore;
  metrics: WebMetrics;
  health: () => WebHealth;
  logger: Logger;
  rateLimitPerMinute: number;
  /** absolute path of the built pages */
  pagesDir: string;
  now?: () => number;
}

/** every API body is a few hundred bytes; a larger one is refused before it is parsed */
const BODY_LIMIT_BYTES = 16 * 1024;
const API_VERSION = '1';

/** Headers every answer carries: no MIME sniffing, no framing by other sites, no full URL as referrer. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'same-origin',
};

export async function buildWebHttp(deps: WebHttpDeps): Promise<FastifyInstance> {
  // 503 while closing: the WEB_ERR_CLOSING hook in error-handler.ts, in the API's error shape.
  const app = createApiApp(deps.logger as FastifyBaseLogger, BODY_LIMIT_BYTES, { frameworkErrors, clientErrorHandler });
  installErrorHandling(app as unknown as FastifyInstance);
  countApiRequests(app as unknown as FastifyInstance, deps.metrics.apiRequests);
  app.addHook('onSend', async (_request, reply) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'OnAir web API',
        version: API_VERSION,
        description:
          "The site's browser API. Open, join, publish and end are the CSM's service API, forwarded: their answers and the CSM's " +
          'CSM_ERR_* errors pass through. Other errors are `{ code, message, retryable }` with a WEB_ERR_* code.',
      },
      tags: [
        { name: 'channels', description: 'for the pages: open, list, join, publish, end' },
        { name: 'ops', description: 'health and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, logLevel: 'warn' });

  await app.register(opsRoutes, { metrics: deps.metrics.registry, health: deps.health });
  await app.register(apiRoutes, {
    prefix: '/api/v1',
    csm: deps.csm,
    store: deps.store,
    rateLimitPerMinute: deps.rateLimitPerMinute,
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  await app.register(pages, { pagesDir: deps.pagesDir });
  await app.ready();
  return app as unknown as FastifyInstance;
}
