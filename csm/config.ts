/** The CSM's configuration: every option, its default, checked by a strict schema (see README). */
import Type, { type Static } from 'typebox';
import { LogLevel } from '../protocol/config.js';

export const CsmRoleSchema = Type.Union([Type.Literal('active'), Type.Literal('backup')]);
export type CsmRole = Static<typeof CsmRoleSchema>;

export const CsmConfigSchema = Type.Object(
  {
    csmId: Type.String({ minLength: 1, maxLength: 64 }),
    /** active: claim the epoch and serve at start; backup: follow the mirror until promoted (needs redisUrl) */
    role: CsmRoleSchema,
    /** a backup reloads its view of the cluster from the mirror this often */
    followIntervalMs: Type.Integer({ minimum: 50 }),
    /** the active reads the store's epoch this often; a newer one demotes it */
    epochCheckMs: Type.Integer({ minimum: 50 }),
    /** after a promotion (or a restart on a stored cluster), units that have not re-registered are failed only after this */
    takeoverGraceMs: Type.Integer({ minimum: 0 }),
    /** a CSM fenced by a newer epoch answers /healthz 503 this long, so keepalived moves the VIP off it, then serves as a healthy backup */
    fencedHoldMs: Type.Integer({ minimum: 0 }),
    /** who may call /ops/v1/*: "loopback", "any", or exact addresses, comma-separated */
    opsAllowFrom: Type.String({ minLength: 1 }),
    host: Type.String({ minLength: 1 }),
    /** HTTP: the service API (web server), the admin API, /healthz, /metrics, /docs */
    httpPort: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** TCP control links from streaming units */
    controlPort: Type.Integer({ minimum: 0, maximum: 65535 }),
    clusterSecret: Type.String({ minLength: 8 }),
    heartbeatIntervalMs: Type.Integer({ minimum: 50 }),
    reportIntervalMs: Type.Integer({ minimum: 100 }),
    /** a unit silent this long is failed and its channels re-homed */
    unitFailAfterMs: Type.Integer({ minimum: 100 }),
    maxRelayChildren: Type.Integer({ minimum: 1, maximum: 1000 }),
    emptyGroupGraceMs: Type.Integer({ minimum: 0 }),
    /** a channel whose broadcaster stays away this long is closed */
    publisherGraceMs: Type.Integer({ minimum: 1000 }),
    reservationTtlMs: Type.Integer({ minimum: 1000 }),
    consolidate: Type.Boolean(),
    sweepIntervalMs: Type.Integer({ minimum: 50 }),
    ticketTtlSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
    /** Ed25519 private key as a JWK JSON string; empty: a fresh key per start (single-CSM development only) */
    ticketPrivateJwk: Type.String(),
    /** empty: in-memory stores (the embedded default); else redis://host:port, or redis-sentinel://host:port[,host:port…]/name (Sentinel) */
    redisUrl: Type.String(),
    redisPrefix: Type.String({ minLength: 1 }),
    mirrorFlushMs: Type.Integer({ minimum: 5 }),
    eventLogCapacity: Type.Integer({ minimum: 10 }),
    /** operators of the admin API: "user:scryptHash" entries, comma-separated */
    operators: Type.String(),
    /** operators (comma-separated user names) that may name the acting operator with X-OnAir-Actor: the admin console's CSM account */
    actorDelegates: Type.String(),
    /** if set, the service API requires `Authorization: Bearer <serviceToken>` */
    serviceToken: Type.String(),
    rateLimitPerMinute: Type.Integer({ minimum: 1 }),
    maxControlFrameBytes: Type.Integer({ minimum: 1024 }),
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

export type CsmConfig = Static<typeof CsmConfigSchema>;

export const csmDefaults: CsmConfig = {
  csmId: 'csm-1',
  role: 'active',
  followIntervalMs: 500,
  epochCheckMs: 500,
  takeoverGraceMs: 10_000,
  fencedHoldMs: 3000,
  opsAllowFrom: 'loopback',
  host: '127.0.0.1',
  httpPort: 7000,
  controlPort: 7001,
  clusterSecret: 'onair-dev-secret',
  heartbeatIntervalMs: 1000,
  reportIntervalMs: 5000,
  unitFailAfterMs: 3000,
  maxRelayChildren: 8,
  emptyGroupGraceMs: 30_000,
  publisherGraceMs: 20_000,
  reservationTtlMs: 65_000,
  consolidate: true,
  sweepIntervalMs: 1000,
  ticketTtlSeconds: 60,
  ticketPrivateJwk: '',
  redisUrl: '',
  redisPrefix: 'onair:',
  mirrorFlushMs: 50,
  eventLogCapacity: 10_000,
  operators: '',
  actorDelegates: '',
  serviceToken: '',
  rateLimitPerMinute: 600,
  maxControlFrameBytes: 1 << 20,
  logLevel: 'info',
};

export const CSM_ENV_PREFIX = 'ONAIR_CSM_';
