/**
 * Routes for machines that watch the web server: /healthz for load balancers (200 while it serves;
 * 503 only when closing or its event loop stalled — a CSM that is away is reported, not a failure,
 * since the pages and the channel list are still served) and /metrics for Prometheus. Neither is
 * rate-limited.
 *
 * Also counts every browser API request, labelled by route pattern (not raw URL, so the label set
 * stays bounded) and status.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Counter, Registry } from 'prom-client';
import Type from 'typebox';
import { ErrorBodyProperties, WebHealthSchema } from './schemas.js';

export interface WebHealth {
  ok: boolean;
  webId: string;
  csm: 'reachable' | 'unreachable';
  lastSyncAt: number | null;
  loopStalledMs: number;
}

export interface OpsRoutesOptions {
  metrics: Registry;
  health: () => WebHealth;
}

/** Applied to the root instance, so its hook sees every route's responses, unknown routes included. */
export function countApiRequests(app: FastifyInstance, counter: Counter<'route' | 'status'>): void {
  app.addHook('onResponse', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    // An /api path no API route matched lands on the pages' wildcard route ("/*"): unmatched too.
    const route = request.routeOptions.url;
    counter.inc({ route: route && route !== '/*' ? route : 'unmatched', status: String(reply.statusCode) });
  });
}

const tags = ['ops'];

export const opsRoutes: FastifyPluginAsyncTypebox<OpsRoutesOptions> = async (app, { metrics, health }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags,
        summary: 'Health of this web server (200 serving, 503 closing or stalled); says whether the CSM answers',
        response: {
          200: WebHealthSchema,
          503: Type.Union([WebHealthSchema, Type.Object(ErrorBodyProperties, { additionalProperties: false })], { description: 'stalled, or closing' }),
        },
      },
    },
    async (_request, reply) => {
      const state = health();
      return reply.code(state.ok ? 200 : 503).send(state);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Prometheus metrics, text exposition format',
        response: { 200: { description: 'metrics', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
  );
};
