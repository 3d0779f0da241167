/**
 * The console API under /console/v1 (README: Admin console):
 *   POST   /session {user, password}   sign in → {user, csrfToken}, sets the session cookie (rate-limited: signInPerMinute)
 *   GET    /session                    who is signed in → {user, csrfToken}
 *   DELETE /session                    sign out (CSRF)
 *   GET    /about                      {csmUrl} for the page's links to the CSM
 *   GET    /state                      the live feed's last state
 *   GET    /live                       the live feed (server-sent events, LiveFeed.ts)
 *   POST   /units/:unitId/{evacuate|drain|resume|remove}       (CSRF) forwarded to the CSM
 *   POST   /units/:unitId/capacity {groupsPerUnit?, groupSize?}  (CSRF) forwarded to the CSM
 *   POST   /channels/:id/expand {groups}, /channels/:id/{shrink|close}  (CSRF) forwarded to the CSM
 * Everything but sign-in needs a session (401 ADMIN_ERR_UNAUTHENTICATED); every POST and DELETE the
 * session's CSRF token in `x-csrf-token` (403 ADMIN_ERR_CSRF). Actions reach the CSM with the
 * signed-in operator as the actor, and the CSM's answer (or its CSM_ERR_* refusal) comes back as it is.
 */
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { limitRequests } from '../../protocol/http-rate-limit.js';
import type { CsmAdmin } from '../CsmAdmin.js';
import { ConsoleError } from '../errors.js';
import type { LiveFeed } from '../LiveFeed.js';
import type { Session, Sessions } from '../Sessions.js';
import { CapacityBody, ChannelAction, ChannelParams, ExpandBody, SignInBody, UnitAction, UnitParams } from './schemas.js';
import type { OperatorPasswords, SessionAuth } from './session-auth.js';
import type { Counter } from 'prom-client';
import Type from 'typebox';

export interface ConsoleRoutesOptions {
  csm: CsmAdmin;
  csmUrl: string;
  feed: LiveFeed;
  sessions: Sessions;
  auth: SessionAuth;
  passwords: OperatorPasswords;
  signInPerMinute: number;
  rateLimitPerMinute: number;
  actions: Counter<'action' | 'outcome'>;
}

/** a page that does not read its feed is dropped past this much unsent data */
const MAX_FEED_BACKLOG_BYTES = 1024 * 1024;

const rateLimited = (retryIn: string): Error => new ConsoleError('ADMIN_ERR_RATE_LIMITED', `retry in ${retryIn}`);

export const consoleRoutes: FastifyPluginAsyncTypebox<ConsoleRoutesOptions> = async (app, options) => {
  const { csm, feed, sessions, auth, passwords } = options;

  // ── sign-in: its own, tighter limit, ahead of any scrypt work ─────────────────────────────────
  await app.register(async (signIn) => {
    await limitRequests(signIn as unknown as FastifyInstance, { perMinute: options.signInPerMinute, refusal: rateLimited });
    signIn.withTypeProvider<TypeBoxTypeProvider>().post('/session', { schema: { body: SignInBody } }, async (request, reply) => {
      const { user, password } = request.body;
      if (!(await passwords.check(user, password))) {
        request.log.warn({ user: user.slice(0, 64) }, 'sign-in refused');
        throw new ConsoleError('ADMIN_ERR_BAD_CREDENTIALS');
      }
      const session = sessions.create(user);
      auth.setCookie(reply, session);
      request.log.info({ user }, 'signed in');
      return { user, csrfToken: session.csrfToken };
    });
  });

  // ── everything else: a session, and CSRF for state changes ───────────────────────────────────
  await app.register(async (api) => {
    await limitRequests(api as unknown as FastifyInstance, { perMinute: options.rateLimitPerMinute, refusal: rateLimited });
    api.decorateRequest('session', null);
    api.addHook('onRequest', async (request) => {
      request.setDecorator('session', auth.require(request));
    });
    const sessionOf = (request: FastifyRequest): Session => request.getDecorator<Session>('session');
    const operator = (request: FastifyRequest): string => sessionOf(request).user;
    const typed = api.withTypeProvider<TypeBoxTypeProvider>();

    typed.get('/session', async (request) => {
      const session = sessionOf(request);
      return { user: session.user, csrfToken: session.csrfToken };
    });

    typed.delete('/session', async (request, reply) => {
      sessions.delete(sessionOf(request).id);
      auth.clearCookie(reply);
      request.log.info({ user: operator(request) }, 'signed out');
      return reply.code(204).send();
    });

    typed.get('/about', async () => ({ csmUrl: options.csmUrl }));

    typed.get('/state', async () => feed.state);

    typed.get('/live', async (request, reply) => {
      if (!feed.canAdd()) throw new ConsoleError('ADMIN_ERR_TOO_MANY_FEEDS');
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      raw.write('retry: 2000\n\n');
      const client = {
        write: (text: string): boolean => {
          if (raw.destroyed || raw.writableLength > MAX_FEED_BACKLOG_BYTES) return false;
          raw.write(text);
          return true;
        },
        close: (): void => {
          if (!raw.destroyed) raw.end();
        },
      };
      request.raw.on('close', () => feed.remove(client));
      feed.add(client);
    });

    const act = async (request: FastifyRequest, action: string, run: () => Promise<unknown>): Promise<unknown> => {
      const user = operator(request);
      try {
        const result = await run();
        options.actions.inc({ action, outcome: 'ok' });
        request.log.info({ user, action }, 'action done');
        feed.pokeSoon();
        return result ?? {};
      } catch (error) {
        options.actions.inc({ action, outcome: 'refused' });
        throw error;
      }
    };

    typed.post('/units/:unitId/capacity', { schema: { params: UnitParams, body: CapacityBody } }, async (request) =>
      act(request, 'unit.capacity', () => csm.act('POST', `/units/${encodeURIComponent(request.params.unitId)}/capacity`, operator(request), request.body)),
    );

    typed.post('/units/:unitId/:action', { schema: { params: Type.Object({ ...UnitParams.properties, action: UnitAction }, { additionalProperties: false }) } }, async (request) => {
      const { unitId, action } = request.params;
      const path = `/units/${encodeURIComponent(unitId)}`;
      return act(request, `unit.${action}`, () =>
        action === 'remove' ? csm.act('DELETE', path, operator(request)) : csm.act('POST', `${path}/${action}`, operator(request), {}),
      );
    });

    typed.post('/channels/:id/expand', { schema: { params: ChannelParams, body: ExpandBody } }, async (request) =>
      act(request, 'channel.expand', () => csm.act('POST', `/channels/${request.params.id}/expand`, operator(request), { groups: request.body.groups })),
    );

    typed.post('/channels/:id/:action', { schema: { params: Type.Object({ ...ChannelParams.properties, action: ChannelAction }, { additionalProperties: false }) } }, async (request) => {
      const { id, action } = request.params;
      return act(request, `channel.${action}`, () =>
        action === 'close' ? csm.act('DELETE', `/channels/${id}`, operator(request)) : csm.act('POST', `/channels/${id}/shrink`, operator(request), {}),
      );
    });
  });
};
