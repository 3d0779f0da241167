/**
 * The CSM's HTTP server, assembled but not listening (the caller listens, and closes):
 *   /api/v1/*    service API for the web server   — service token (when set), rate-limited per IP
 *   /admin/v1/*  operator API for the admin console — HTTP Basic operator credentials, rate-limited
 *   /healthz, /metrics                             — open, for keepalived and Prometheus
 *   /ops/v1/*    promote, demote, status            — the cluster secret, from loopback (role-routes.ts)
 *   /docs        Swagger UI; /docs/json the OpenAPI document generated from the route schemas
 *
 * Every route validates its input with a strict schema (validation.ts) and every failure leaves
 * through one error handler (error-handler.ts) as `{ code, message, retryable }`.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ConfigError } from '../../protocol/config.js';
import { EVENT_KINDS } from '../../protocol/event-kinds.js';
import type { CsmService } from '../CsmService.js';
import { adminRoutes } from './admin-routes.js';
import { installErrorHandling } from './error-handler.js';
import { createOperatorAuthenticator, OPERATOR_REALM, type Operator } from './operator-auth.js';
import { countRequests, opsRoutes } from './ops-routes.js';
import { DEFAULT_RATE_LIMIT_PER_MINUTE } from './rate-limit.js';
import { TreeNodeSchema } from './schemas.js';
import { roleRoutes, type RoleControl } from './role-routes.js';
import { serviceRoutes } from './service-routes.js';
import { createApiApp } from '../../protocol/http-validation.js';

export interface CsmHttpDeps {
  service: CsmService;
  logger: Logger;
  metrics: Registry;
  health: () => { ok: boolean; detail: Record<string, unknown> };
  operators: readonly Operator[];
  /** operators whose X-OnAir-Actor header names the acting operator (admin-routes.ts); default none */
  actorDelegates?: readonly string[];
  /** when set, the service API requires `Authorization: Bearer <serviceToken>` */
  serviceToken?: string | undefined;
  /** per client IP, for the service API and (separately counted) the admin API; default 600 */
  rateLimitPerMinute?: number;
  /** the role API (/ops/v1/promote, demote, status); absent: not served */
  ops?: RoleControl;
}

/** every request body here is a few hundred bytes; a larger one is refused before it is parsed */
const BODY_LIMIT_BYTES = 16 * 1024;
const API_VERSION = '1';

export async function buildCsmHttp(deps: CsmHttpDeps): Promise<FastifyInstance> {
  const rateLimitPerMinute = deps.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  if (!Number.isInteger(rateLimitPerMinute) || rateLimitPerMinute < 1) throw new ConfigError(`rateLimitPerMinute must be a positive integer, got ${rateLimitPerMinute}`);
  if (deps.serviceToken !== undefined && deps.serviceToken.length === 0) throw new ConfigError('serviceToken must not be empty (leave it unset for no token)');
  // Parses and checks every operator's hash now: a typo in the configuration fails the start, not the first login.
  const authenticator = createOperatorAuthenticator(deps.operators);

  // 503 while closing: the CSM_ERR_CLOSING hook in error-handler.ts, in the API's error shape.
  const app = createApiApp(deps.logger as FastifyBaseLogger, BODY_LIMIT_BYTES);
  installErrorHandling(app);
  countRequests(app, deps.metrics);
  app.addSchema(TreeNodeSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'OnAir CSM API',
        version: API_VERSION,
        description:
          'Cluster server manager of OnAir. Errors are `{ code, message, retryable }` with a CSM_ERR_* code; ' +
          `event kinds: ${EVENT_KINDS.join(', ')}.`,
      },
      tags: [
        { name: 'service', description: 'for the web server: channels, viewers, publishers' },
        { name: 'admin', description: 'for operators: units, channels, failover, the event log' },
        { name: 'ops', description: 'health, metrics, and the role API for keepalived' },
      ],
      components: {
        securitySchemes: {
          serviceToken: { type: 'http', scheme: 'bearer', description: 'the configured service token' },
          operator: { type: 'http', scheme: 'basic', description: `operator credentials (realm "${OPERATOR_REALM}")` },
          ...(deps.ops ? { clusterSecret: { type: 'http', scheme: 'bearer', description: 'the cluster secret (role API, from opsAllowFrom addresses only)' } as const } : {}),
        },
      },
    },
    // Shared schemas keep their $id as the component name ("TreeNode"), not "def-0".
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, logLevel: 'warn' });

  await app.register(opsRoutes, { metrics: deps.metrics, health: deps.health });
  await app.register(serviceRoutes, { prefix: '/api/v1', service: deps.service, serviceToken: deps.serviceToken, rateLimitPerMinute });
  await app.register(adminRoutes, { prefix: '/admin/v1', service: deps.service, authenticator, rateLimitPerMinute, actorDelegates: deps.actorDelegates ?? [] });
  if (deps.ops) await app.register(roleRoutes, { prefix: '/ops/v1', ...deps.ops });
  await app.ready();
  return app as unknown as FastifyInstance;
}
