/**
 * The browser API under /api/v1. Open, join, publish and end take the CSM service API's paths, bodies
 * and answers (protocol/service-api.ts), so web/client's CsmApi pointed at the page's origin works
 * unchanged; they are checked here with the same schemas, then forwarded to the CSM (CsmLink) with
 * the web server's service token, which never reaches the browser. The channel list and a channel's
 * page data come from the web server's own store (protocol/web-api.ts), kept fresh by ChannelSync.
 * Every route is rate-limited per client address.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Logger } from '../../../protocol/logger.js';
import type { WebChannel } from '../../../protocol/web-api.js';
import type { CsmLink } from '../CsmLink.js';
import { WebError } from '../errors.js';
import type { WebChannelRecord, WebChannelStore } from '../store/WebChannelStore.js';
import { ChannelParams, EmptyBody, IngestGrantSchema, JoinResultSchema, OpenChannelBody, OpenChannelResultSchema, PublisherKeyBody } from '../../../protocol/service-api-schemas.js';
import { limitRequests } from '../../../protocol/http-rate-limit.js';
import { responses, WebChannelListSchema, WebChannelSchema } from './schemas.js';

export interface ApiRoutesOptions {
  csm: CsmLink;
  store: WebChannelStore;
  rateLimitPerMinute: number;
  logger: Logger;
  now?: () => number;
}

const tags = ['channels'];
const NoContent = Type.Null({ description: 'No Content' });

export function toWebChannel(record: WebChannelRecord): WebChannel {
  const { channelId, title, broadcaster, startedAt, viewers, peakViewers, publisherConnected, endedAt } = record;
  const channel: WebChannel = { channelId, title, broadcaster, startedAt, viewers, peakViewers, publisherConnected };
  if (endedAt !== null) channel.endedAt = endedAt;
  return channel;
}

export const apiRoutes: FastifyPluginAsyncTypebox<ApiRoutesOptions> = async (app, { csm, store, rateLimitPerMinute, logger, now = Date.now }) => {
  await limitRequests(app as unknown as FastifyInstance, { perMinute: rateLimitPerMinute, refusal: (retryIn) => new WebError('WEB_ERR_RATE_LIMITED', `retry in ${retryIn}`) });

  /** A read the page cannot do without: a store that fails it is WEB_ERR_STORE_UNAVAILABLE. */
  const read = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (error) {
      throw new WebError('WEB_ERR_STORE_UNAVAILABLE', undefined, { cause: error });
    }
  };
  /** A write the CSM's answer does not depend on: a failure is logged, and the next sync repairs it. */
  const write = (what: string, channelId: number, run: () => Promise<unknown>): Promise<void> =>
    run().then(
      () => undefined,
      (error: unknown) => logger.warn({ channelId, err: (error as Error).message }, `${what} not stored; the next sync repairs it`),
    );

  app.post(
    '/channels',
    {
      schema: {
        tags,
        summary: 'Open a channel: the CSM places it; answers where to publish and the publisher key (shown once)',
        body: OpenChannelBody,
        response: responses({ 201: OpenChannelResultSchema }, [400, 413, 415, 502, 503]),
      },
    },
    async (request, reply) => {
      const { title, broadcaster } = request.body;
      const opened = await csm.call((api) => api.openChannel(title, broadcaster));
      const at = now();
      await write('the opened channel', opened.channelId, () =>
        store.put({ channelId: opened.channelId, title, broadcaster, startedAt: at, viewers: 0, peakViewers: 0, publisherConnected: false, endedAt: null, storedAt: at }),
      );
      return reply.code(201).send(opened);
    },
  );

  app.get(
    '/channels',
    { schema: { tags, summary: 'Live channels, newest first', response: responses({ 200: WebChannelListSchema }, [503]) } },
    async () => {
      const live = (await read(() => store.list())).filter((r) => r.endedAt === null);
      live.sort((a, b) => b.startedAt - a.startedAt || b.channelId - a.channelId);
      return { channels: live.map(toWebChannel) };
    },
  );

  app.get(
    '/channels/:id',
    {
      schema: {
        tags,
        summary: 'One channel; an ended one (with endedAt) for a while after it ended',
        params: ChannelParams,
        response: responses({ 200: WebChannelSchema }, [400, 404, 503]),
      },
    },
    async (request) => {
      const record = await read(() => store.get(request.params.id));
      if (!record) throw new WebError('WEB_ERR_NO_SUCH_CHANNEL', String(request.params.id));
      return toWebChannel(record);
    },
  );

  app.post(
    '/channels/:id/join',
    {
      schema: {
        tags,
        summary: 'Join as a viewer: the CSM admits to a group and answers the unit, group, view ticket and transports',
        params: ChannelParams,
        body: EmptyBody,
        response: responses({ 200: JoinResultSchema }, [400, 404, 413, 415, 502, 503]),
      },
    },
    async (request) => csm.call((api) => api.join(request.params.id)),
  );

  app.post(
    '/channels/:id/publish',
    {
      schema: {
        tags,
        summary: 'Where the broadcaster publishes now (after a re-home), with a fresh publish ticket',
        params: ChannelParams,
        body: PublisherKeyBody,
        response: responses({ 200: IngestGrantSchema }, [400, 403, 404, 413, 415, 502, 503]),
      },
    },
    async (request) => csm.call((api) => api.resumePublisher(request.params.id, request.body.publisherKey)),
  );

  app.post(
    '/channels/:id/end',
    {
      schema: {
        tags,
        summary: 'End the channel (the broadcaster, with its publisher key)',
        params: ChannelParams,
        body: PublisherKeyBody,
        response: responses({ 204: NoContent }, [400, 403, 404, 413, 415, 502, 503]),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await csm.call((api) => api.endChannel(id, request.body.publisherKey));
      await write('the end of the channel', id, () => store.end(id, now()));
      return reply.code(204).send();
    },
  );
};
