/**
 * The role API under /ops/v1, for keepalived's notify scripts on the same host (through `onair
 * csm-ctl`): promote this CSM when the virtual IP comes here, demote it when the VIP leaves, read its
 * role. Two gates, the address first (no secret comparison for strangers): the caller's address must
 * be allowed by `opsAllowFrom` (loopback only by default) — CSM_ERR_OPS_FORBIDDEN — and it must send
 * the cluster secret as `Authorization: Bearer <secret>` — CSM_ERR_UNAUTHORIZED.
 *
 * Not rate-limited: the callers are local scripts, and a promotion must never be refused for volume.
 */
import { isIP } from 'node:net';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ConfigError } from '../../protocol/config.js';
import { CsmError } from '../errors.js';
import type { RoleStatus } from '../ha/role-types.js';
import { responses } from './schemas.js';
import { bearerTokenCheck } from './service-routes.js';

export interface RoleControl {
  /** the cluster secret: the Bearer token these routes take */
  secret: string;
  /** "loopback", "any", or exact addresses, comma-separated (config `opsAllowFrom`) */
  allowFrom: string;
  promote(by: string): Promise<RoleStatus>;
  demote(by: string): Promise<RoleStatus>;
  status(): RoleStatus;
}

const strict = { additionalProperties: false } as const;

export const RoleStatusSchema = Type.Object(
  {
    csmId: Type.String(),
    role: Type.Union([Type.Literal('active'), Type.Literal('backup')], { description: "what this CSM does now ('active' only while it serves)" }),
    epoch: Type.Integer({ minimum: 0, description: 'the epoch this CSM holds (0: never active)' }),
    storeEpoch: Type.Integer({ minimum: 0, description: 'the newest epoch seen in the store' }),
    promoting: Type.Boolean({ description: 'a promotion waits for the store and is retried' }),
    suspended: Type.Boolean({ description: 'active, but waiting for the store to confirm its epoch after a stall' }),
    fenced: Type.Boolean({ description: 'stepped down for a newer epoch moments ago (health fails meanwhile)' }),
    followedAt: Type.Union([Type.Number(), Type.Null()], { description: "a backup: when its view was last reloaded (ms)" }),
    storeError: Type.Union([Type.String(), Type.Null()]),
    changed: Type.Optional(Type.Boolean({ description: 'promote/demote: whether the call changed the role' })),
  },
  strict,
);

/** optional: a POST without a body is checked as `{}` */
export const RoleChangeBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 200, description: 'why, for the log (e.g. "keepalived: MASTER")' })) }, strict);

/** Parses `opsAllowFrom` once; the check then compares the socket's address. */
export function addressGate(allowFrom: string): (address: string | undefined) => boolean {
  const entries = allowFrom.split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0) throw new ConfigError('opsAllowFrom is empty');
  for (const entry of entries) {
    if (entry !== 'loopback' && entry !== 'any' && isIP(entry) === 0) throw new ConfigError(`opsAllowFrom: "${entry}" is not "loopback", "any" or an IP address`);
  }
  if (entries.includes('any')) return () => true;
  const exact = new Set(entries.filter((e) => e !== 'loopback').map(plainAddress));
  const loopback = entries.includes('loopback');
  return (address) => {
    if (!address) return false;
    const plain = plainAddress(address);
    return exact.has(plain) || (loopback && isLoopback(plain));
  };
}

function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address.toLowerCase();
}

function isLoopback(address: string): boolean {
  return address === '::1' || (isIP(address) === 4 && address.startsWith('127.'));
}

const tags = ['ops'];
const security = [{ clusterSecret: [] }];

export const roleRoutes: FastifyPluginAsyncTypebox<RoleControl> = async (app, control) => {
  const allowed = addressGate(control.allowFrom);
  const authorized = bearerTokenCheck(control.secret);
  app.addHook('onRequest', async (request, reply) => {
    if (!allowed(request.socket.remoteAddress)) throw new CsmError('CSM_ERR_OPS_FORBIDDEN', `not from ${request.socket.remoteAddress ?? 'an unknown address'}`);
    if (authorized(request.headers.authorization)) return;
    reply.header('www-authenticate', 'Bearer realm="onair-csm-ops"');
    throw new CsmError('CSM_ERR_UNAUTHORIZED', 'send the cluster secret as "Authorization: Bearer <secret>"');
  });
  const by = (request: { socket: { remoteAddress?: string | undefined } }, reason: string | undefined): string =>
    `the ops API (${request.socket.remoteAddress ?? '?'})${reason ? `: ${reason}` : ''}`;
  const status = RoleStatusSchema;

  app.post(
    '/promote',
    {
      schema: {
        tags,
        security,
        summary: 'Become the active CSM: claim a new epoch, load the mirrored cluster, serve (a no-op while active)',
        body: RoleChangeBody,
        response: responses({ 200: status }, [400, 401, 403, 503]),
      },
    },
    async (request) => control.promote(by(request, request.body.reason)),
  );

  app.post(
    '/demote',
    {
      schema: {
        tags,
        security,
        summary: 'Become a backup: stop serving, drop unit links, stop writing, follow the mirror (a no-op while backup)',
        body: RoleChangeBody,
        response: responses({ 200: status }, [400, 401, 403, 409]),
      },
    },
    async (request) => control.demote(by(request, request.body.reason)),
  );

  app.get(
    '/status',
    { schema: { tags, security, summary: "This CSM's role and epochs", response: responses({ 200: status }, [401, 403]) } },
    async () => control.status(),
  );
};
