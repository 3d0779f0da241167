/**
 * Routes for machines that watch the CSM: /healthz for keepalived's track script and load balancers
 * (200 when healthy, else 503, with the detail either way) and /metrics for Prometheus. Neither needs
 * credentials or is rate-limited: keepalived must never be locked out of the check that moves the VIP.
 *
 * Also counts every HTTP request into the same registry, labelled by route pattern (not raw URL, so
 * the label set stays bounded) and status.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import Type from 'typebox';
import { ErrorBodyProperties, HealthSchema } from './schemas.js';

export interface OpsRoutesOptions {
  metrics: Registry;
  health: () => { ok: boolean; detail: Record<string, unknown> };
}

const REQUEST_DURATION = 'onair_csm_http_request_duration_seconds';

/** Registers the request histogram once per registry: a second server on the same registry shares it. */
function requestDurationHistogram(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  const existing = registry.getSingleMetric(REQUEST_DURATION);
  if (existing instanceof Histogram) return existing as Histogram<'method' | 'route' | 'status'>;
  return new Histogram({
    name: REQUEST_DURATION,
    help: 'CSM HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
}

/** Applied to the root instance, so its hook sees every route's responses. */
export function countRequests(app: FastifyInstance, registry: Registry): void {
  const histogram = requestDurationHistogram(registry);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

const tags = ['ops'];

export const opsRoutes: FastifyPluginAsyncTypebox<OpsRoutesOptions> = async (app, { metrics, health }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags,
        summary: 'Health of this CSM (200 healthy, 503 not); keepalived tracks it',
        response: {
          200: HealthSchema,
          // unhealthy, or CSM_ERR_CLOSING while shutting down
          503: Type.Union([HealthSchema, Type.Object(ErrorBodyProperties, { additionalProperties: false })], { description: 'unhealthy, or closing' }),
        },
      },
    },
    async (_request, reply) => {
      const state = health();
      return reply.code(state.ok ? 200 : 503).send({ ok: state.ok, detail: state.detail });
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
    async (_request, reply) => {
      const text = await metrics.metrics();
      return reply.type(metrics.contentType).send(text);
    },
  );
};
