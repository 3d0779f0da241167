/**
 * A streaming unit's configuration: defaults → JSON file → environment (ONAIR_UNIT_*) → explicit
 * overrides, checked by a strict schema (unknown keys refused) and frozen (protocol/config.ts).
 *
 * `clusterSecret` has a development default so that `onair cluster` works out of the box; a
 * production unit MUST set its own (ONAIR_UNIT_CLUSTER_SECRET or --secret), the same on every
 * unit and the CSM, or anyone who can reach the CSM's control port can register a unit.
 */
import Type, { type Static } from 'typebox';
import { ConfigError, LogLevel as LogLevelSchema, loadConfig } from '../protocol/config.js';

export const UNIT_ENV_PREFIX = 'ONAIR_UNIT_';
export const DEV_CLUSTER_SECRET = 'onair-dev-secret';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Host = Type.String({ minLength: 1, maxLength: 253 });
const Millis = Type.Integer({ minimum: 10, maximum: 600_000 });

export const UnitConfigSchema = Type.Object(
  {
    /** unique in the cluster; the CSM keys the unit's groups by it across reconnects */
    unitId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    /** interface the client-facing HTTP/WebSocket server binds */
    host: Host,
    /** client-facing port; 0 picks a free one (tests, several units on one host) */
    port: Port,
    /** ws:// base URL the CSM hands to clients; default ws://host:<bound port>. Set it when binding 0.0.0.0 or behind NAT. */
    advertiseAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^wss?://' })),
    csmHost: Host,
    csmControlPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    clusterSecret: Type.String({ minLength: 1, maxLength: 256 }),
    groupsPerUnit: Type.Integer({ minimum: 1, maximum: 10_000 }),
    groupSize: Type.Integer({ minimum: 1, maximum: 10_000 }),
    /** reconnect backoff to the CSM: first retry after the minimum, doubling up to the maximum, with jitter */
    reconnectMinMs: Millis,
    reconnectMaxMs: Millis,
    logLevel: LogLevelSchema,
    /**
     * The CSM's ticket public key, an Ed25519 JWK as a JSON string. Optional in the schema so that a
     * unit without media still starts, but without it every media connection is refused
     * (MEDIA_DISABLED) and the unit warns at start.
     */
    ticketPublicJwk: Type.String({ maxLength: 4096 }),
    /** comma-separated page origins allowed on the media routes; empty = any origin */
    allowedOrigins: Type.String({ maxLength: 8192 }),
    /** open media WebSockets per client IP */
    maxConnectionsPerIp: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** concurrent UDP-mode viewers (one WebRTC peer connection each); more are served over TCP. 0 = UDP mode off */
    udpMaxSessions: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /** the one UDP port of every data channel here (ICE UDP mux); 0 = the same number as the media port */
    udpPort: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** the most a frame waits for the one due next to share its write to each viewer (0: every frame at once); keyframes never wait */
    fanoutBatchMs: Type.Integer({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

export type UnitConfig = Static<typeof UnitConfigSchema>;
type LogLevel = UnitConfig['logLevel'];

/** Everything but unitId (required, no sensible default) and advertiseAddress (derived from the bound port). */
export const unitConfigDefaults = Object.freeze({
  host: '127.0.0.1',
  port: 7101,
  csmHost: '127.0.0.1',
  csmControlPort: 7001,
  clusterSecret: DEV_CLUSTER_SECRET,
  groupsPerUnit: 50,
  groupSize: 10,
  reconnectMinMs: 200,
  reconnectMaxMs: 5000,
  ticketPublicJwk: '',
  allowedOrigins: '',
  maxConnectionsPerIp: 64,
  udpMaxSessions: 1000,
  udpPort: 0,
  fanoutBatchMs: 10,
  logLevel: 'info' as LogLevel,
});

export interface UnitConfigSources {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  overrides?: Partial<UnitConfig>;
}

export function loadUnitConfig(sources: UnitConfigSources = {}): Readonly<UnitConfig> {
  // unitId is absent from the defaults on purpose: the schema then reports it missing unless a source sets it.
  let config: Readonly<UnitConfig>;
  try {
    config = loadConfig(UnitConfigSchema, unitConfigDefaults as UnitConfig, { ...sources, envPrefix: UNIT_ENV_PREFIX });
  } catch (error) {
    // The schema's wording for the one option without a default does not say where to set it.
    if (error instanceof ConfigError && /required propert(y|ies) unitId/.test(error.message)) {
      throw new ConfigError(`unitId is required: set --id, ${UNIT_ENV_PREFIX}UNIT_ID or "unitId" in the config file`);
    }
    throw error;
  }
  if (config.reconnectMinMs > config.reconnectMaxMs) {
    throw new ConfigError(`reconnectMinMs (${config.reconnectMinMs}) exceeds reconnectMaxMs (${config.reconnectMaxMs})`);
  }
  return config;
}

/** `allowedOrigins` as a set; null means any origin. */
export function parseAllowedOrigins(value: string): ReadonlySet<string> | null {
  const origins = value.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter((o) => o.length > 0);
  return origins.length === 0 ? null : new Set(origins);
}

/** The address the CSM tells clients to use for this unit. */
export function advertisedAddress(config: Pick<UnitConfig, 'advertiseAddress' | 'host'>, boundPort: number): string {
  if (config.advertiseAddress) return config.advertiseAddress.replace(/\/+$/, '');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `ws://${host}:${boundPort}`;
}
