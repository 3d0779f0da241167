/**
 * The operator API under /admin/v1: the cluster summary, units (inspect, evacuate, drain, resume,
 * capacity, remove), channels (inspect, tree, groups, expand, shrink, close), groups and the event log.
 *
 * Every route needs operator credentials (HTTP Basic, see operator-auth.ts); the operator's user name
 * is the `actor` that CsmService writes into the event log. A caller authenticated as one of
 * `actorDelegates` (the admin console's own CSM account) may name the operator who acted with the
 * `X-OnAir-Actor` header; the actor is then "<named> via <account>", so the log keeps both. From
 * any other caller the header is ignored: nobody can put a name in the log they did not sign in as.
 * Each route answers exactly what its CsmService method returns: lists are bare arrays, except the
 * event log's `{ events }`, which is the shape paging clients extend.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { CsmService } from '../CsmService.js';
import { CsmError } from '../errors.js';
import { OPERATOR_REALM, type OperatorAuthenticator } from './operator-auth.js';
import { limitRequests } from '../../protocol/http-rate-limit.js';
import {
  CapacityBody,
  ChannelInfoSchema,
  ChannelParams,
  ChannelTreeSchema,
  ClusterSummarySchema,
  EmptyBody,
  EvacuateResultSchema,
  EventListSchema,
  EventsQuery,
  ExpandBody,
  GroupsQuery,
  GroupViewSchema,
  NoContent,
  responses,
  ShrinkResultSchema,
  UnitDetailSchema,
  UnitParams,
  UnitViewSchema,
} from './schemas.js';

export interface AdminRoutesOptions {
  service: CsmService;
  authenticator: OperatorAuthenticator;
  rateLimitPerMinute: number;
  /** operators whose X-OnAir-Actor header is honoured */
  actorDelegates: readonly string[];
}

/** the header a delegate names the acting operator with, and what a name may look like */
export const ACTOR_HEADER = 'x-onair-actor';
const ACTOR_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** The actor to log: the authenticated user, or "<named> via <user>" when a delegate names one. */
export function actorFor(user: string, named: string | string[] | undefined, delegates: readonly string[]): string {
  if (typeof named !== 'string' || !delegates.includes(user) || !ACTOR_NAME.test(named)) return user;
  return `${named} via ${user}`;
}

const OPERATOR = 'operator';
const actor = (request: FastifyRequest): string => request.getDecorator<string>(OPERATOR);

const tags = ['admin'];
const security = [{ operator: [] }];
/** statuses every admin route can answer: bad input, no credentials, throttled */
const base = [400, 401, 429] as const;

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, { service, authenticator, rateLimitPerMinute, actorDelegates }) => {
  await limitRequests(app as unknown as FastifyInstance, { perMinute: rateLimitPerMinute, refusal: (retryIn) => new CsmError('CSM_ERR_RATE_LIMITED', `retry in ${retryIn}`) });
  app.decorateRequest(OPERATOR, '');
  app.addHook('onRequest', async (request, reply) => {
    const user = await authenticator.authenticate(request.headers.authorization);
    if (user === null) {
      reply.header('www-authenticate', `Basic realm="${OPERATOR_REALM}", charset="UTF-8"`);
      throw new CsmError('CSM_ERR_UNAUTHORIZED');
    }
    request.setDecorator(OPERATOR, actorFor(user, request.headers[ACTOR_HEADER], actorDelegates));
  });

  // ── cluster and units ──────────────────────────────────────────────────────────────────────

  app.get(
    '/cluster',
    { schema: { tags, security, summary: 'Cluster summary: units by state, channels, viewers, groups', response: responses({ 200: ClusterSummarySchema }, base) } },
    async () => service.summary(),
  );

  app.get(
    '/units',
    { schema: { tags, security, summary: 'Every unit', response: responses({ 200: Type.Array(UnitViewSchema) }, base) } },
    async () => service.listUnits(),
  );

  app.get(
    '/units/:unitId',
    { schema: { tags, security, summary: 'One unit with its groups grid', params: UnitParams, response: responses({ 200: UnitDetailSchema }, [...base, 404]) } },
    async (request) => service.getUnit(request.params.unitId),
  );

  const unitAction = (summary: string) => ({
    tags,
    security,
    summary,
    params: UnitParams,
    body: EmptyBody,
  });

  app.post(
    '/units/:unitId/evacuate',
    { schema: { ...unitAction('Fail over a healthy unit: move its channels and viewers elsewhere, then leave it draining'), response: responses({ 200: EvacuateResultSchema }, [...base, 404, 409, 503]) } },
    async (request) => service.evacuateUnit(request.params.unitId, actor(request)),
  );

  app.post(
    '/units/:unitId/drain',
    { schema: { ...unitAction('Stop placing new groups on a unit (up → draining)'), response: responses({ 200: UnitViewSchema }, [...base, 404, 409, 503]) } },
    async (request) => service.drainUnit(request.params.unitId, actor(request)),
  );

  app.post(
    '/units/:unitId/resume',
    { schema: { ...unitAction('Put a draining unit back into placement (draining → up)'), response: responses({ 200: UnitViewSchema }, [...base, 404, 409, 503]) } },
    async (request) => service.resumeUnit(request.params.unitId, actor(request)),
  );

  app.post(
    '/units/:unitId/capacity',
    {
      schema: {
        tags,
        security,
        summary: "Change a unit's capacity for new placements (groups per unit, viewers per new group); the unit is told",
        params: UnitParams,
        body: CapacityBody,
        response: responses({ 200: UnitViewSchema }, [...base, 404, 409, 503]),
      },
    },
    async (request) => service.setUnitCapacity(request.params.unitId, request.body, actor(request)),
  );

  app.delete(
    '/units/:unitId',
    {
      schema: { tags, security, summary: 'Remove a unit that serves no groups', params: UnitParams, response: responses({ 204: NoContent }, [...base, 404, 409, 503]) },
    },
    async (request, reply) => {
      service.removeUnit(request.params.unitId, actor(request));
      return reply.code(204).send();
    },
  );

  // ── channels ───────────────────────────────────────────────────────────────────────────────

  app.get(
    '/channels',
    { schema: { tags, security, summary: 'Every channel', response: responses({ 200: Type.Array(ChannelInfoSchema) }, base) } },
    async () => service.listChannels(),
  );

  app.get(
    '/channels/:id',
    { schema: { tags, security, summary: 'One channel', params: ChannelParams, response: responses({ 200: ChannelInfoSchema }, [...base, 404]) } },
    async (request) => service.getChannel(request.params.id),
  );

  app.get(
    '/channels/:id/tree',
    { schema: { tags, security, summary: "The channel's tree of unit presences linked by relays", params: ChannelParams, response: responses({ 200: ChannelTreeSchema }, [...base, 404]) } },
    async (request) => service.channelTree(request.params.id),
  );

  app.get(
    '/channels/:id/groups',
    { schema: { tags, security, summary: "The channel's groups", params: ChannelParams, response: responses({ 200: Type.Array(GroupViewSchema) }, [...base, 404]) } },
    async (request) => service.channelGroups(request.params.id),
  );

  app.post(
    '/channels/:id/expand',
    {
      schema: {
        tags,
        security,
        summary: 'Add groups to a channel now (same placement as viewer-driven growth); returns the groups added',
        params: ChannelParams,
        body: ExpandBody,
        response: responses({ 200: Type.Array(GroupViewSchema) }, [...base, 404, 503]),
      },
    },
    async (request) => service.expandChannel(request.params.id, request.body.groups, actor(request)),
  );

  app.post(
    '/channels/:id/shrink',
    {
      schema: {
        tags,
        security,
        summary: 'Release every empty non-root group of a channel now',
        params: ChannelParams,
        body: EmptyBody,
        response: responses({ 200: ShrinkResultSchema }, [...base, 404, 503]),
      },
    },
    async (request) => service.shrinkChannel(request.params.id, actor(request)),
  );

  app.delete(
    '/channels/:id',
    { schema: { tags, security, summary: 'Close a channel', params: ChannelParams, response: responses({ 204: NoContent }, [...base, 404, 503]) } },
    async (request, reply) => {
      await service.closeChannel(request.params.id, actor(request));
      return reply.code(204).send();
    },
  );

  // ── groups and events ──────────────────────────────────────────────────────────────────────

  app.get(
    '/groups',
    { schema: { tags, security, summary: "Every allocated group, or one unit's", querystring: GroupsQuery, response: responses({ 200: Type.Array(GroupViewSchema) }, [...base, 404]) } },
    async (request) => {
      const { unitId } = request.query;
      if (unitId !== undefined) return service.getUnit(unitId).groups.filter((g) => g !== null);
      return service.listChannels().flatMap((channel) => service.channelGroups(channel.id));
    },
  );

  app.get(
    '/events',
    {
      schema: {
        tags,
        security,
        summary: 'The event log, newest first; every filter given must match. Page with beforeId = the oldest id received.',
        querystring: EventsQuery,
        response: responses({ 200: EventListSchema }, base),
      },
    },
    async (request) => {
      const { limit, beforeId, unitId, channelId, kind } = request.query;
      const events = await service.events({
        ...(limit !== undefined && { limit }),
        ...(beforeId !== undefined && { beforeId }),
        ...(unitId !== undefined && { unitId }),
        ...(channelId !== undefined && { channelId }),
        ...(kind !== undefined && kind.length > 0 && { kinds: kind }),
      });
      return { events };
    },
  );
};
