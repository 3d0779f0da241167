/**
 * The service API under /api/v1, called by the web server: open a channel, list and read channels,
 * admit a viewer, resume publishing after a re-home, end a channel. Every route is rate-limited per
 * client IP and, when a service token is configured, requires `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { CsmService } from '../CsmService.js';
import { CsmError } from '../errors.js';
import { limitRequests } from '../../protocol/http-rate-limit.js';
import {
  ChannelInfoSchema,
  ChannelListSchema,
  ChannelParams,
  EmptyBody,
  IngestGrantSchema,
  JoinResultSchema,
  NoContent,
  OpenChannelBody,
  OpenChannelResultSchema,
  PublisherKeyBody,
  responses,
} from './schemas.js';

export interface ServiceRoutesOptions {
  service: CsmService;
  serviceToken?: string | undefined;
  rateLimitPerMinute: number;
}

const MAX_AUTHORIZATION_LENGTH = 1024;
const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * A constant-time check of `Bearer <token>`. Both sides are hashed first so the comparison takes the
 * same time whatever the length of the guess.
 */
export function bearerTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    if (!authorization || authorization.length > MAX_AUTHORIZATION_LENGTH) return false;
    const match = /^bearer +(\S+) *$/i.exec(authorization);
    return match !== null && timingSafeEqual(sha256(match[1] as string), expected);
  };
}

const tags = ['service'];

export const serviceRoutes: FastifyPluginAsyncTypebox<ServiceRoutesOptions> = async (app, { service, serviceToken, rateLimitPerMinute }) => {
  const valid = serviceToken ? bearerTokenCheck(serviceToken) : null;
  // The web server holds the token and calls for all its browsers from one address: it limits them
  // per browser itself, so its calls are not counted here (a wrong token still is).
  await limitRequests(app as unknown as FastifyInstance, {
    perMinute: rateLimitPerMinute,
    refusal: (retryIn) => new CsmError('CSM_ERR_RATE_LIMITED', `retry in ${retryIn}`),
    ...(valid ? { exempt: (request: { headers: { authorization?: string | undefined } }) => valid(request.headers.authorization) } : {}),
  });
  const security = serviceToken ? [{ serviceToken: [] }] : [];
  const auth = serviceToken ? [401] : [];
  if (valid) {
    app.addHook('onRequest', async (request, reply) => {
      if (valid(request.headers.authorization)) return;
      reply.header('www-authenticate', 'Bearer realm="onair-csm"');
      throw new CsmError('CSM_ERR_UNAUTHORIZED', 'send the service token as "Authorization: Bearer <token>"');
    });
  }

  app.post(
    '/channels',
    {
      schema: {
        tags,
        security,
        summary: 'Open a channel: allocates its root group and returns where to publish',
        body: OpenChannelBody,
        response: responses({ 201: OpenChannelResultSchema }, [400, ...auth, 429, 503]),
      },
    },
    async (request, reply) => {
      const result = await service.openChannel(request.body.title, request.body.broadcaster);
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/channels',
    { schema: { tags, security, summary: 'Every live channel', response: responses({ 200: ChannelListSchema }, [...auth, 429]) } },
    async () => ({ channels: service.listChannels() }),
  );

  app.get(
    '/channels/:id',
    { schema: { tags, security, summary: 'One channel', params: ChannelParams, response: responses({ 200: ChannelInfoSchema }, [400, ...auth, 404, 429]) } },
    async (request) => service.getChannel(request.params.id),
  );

  app.post(
    '/channels/:id/join',
    {
      schema: {
        tags,
        security,
        summary: 'Admit a viewer: a group with a free slot (the channel grows when none has one) and a viewer ticket',
        params: ChannelParams,
        body: EmptyBody,
        response: responses({ 200: JoinResultSchema }, [400, ...auth, 404, 429, 503]),
      },
    },
    async (request) => service.joinChannel(request.params.id),
  );

  app.post(
    '/channels/:id/publish',
    {
      schema: {
        tags,
        security,
        summary: 'Where the broadcaster publishes now (it moves when the root unit fails), with a fresh publish ticket',
        params: ChannelParams,
        body: PublisherKeyBody,
        response: responses({ 200: IngestGrantSchema }, [400, ...auth, 403, 404, 429, 503]),
      },
    },
    async (request) => service.resumePublisher(request.params.id, request.body.publisherKey),
  );

  app.post(
    '/channels/:id/end',
    {
      schema: {
        tags,
        security,
        summary: 'End a channel (the broadcaster, with its publisher key)',
        params: ChannelParams,
        body: PublisherKeyBody,
        response: responses({ 204: NoContent }, [400, ...auth, 403, 404, 429, 503]),
      },
    },
    async (request, reply) => {
      await service.endChannel(request.params.id, request.body.publisherKey);
      return reply.code(204).send();
    },
  );
};
