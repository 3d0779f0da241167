/** The admin console's configuration: every option, its default, checked by a strict schema (README: Admin console). */
import Type, { type Static } from 'typebox';
import { LogLevel } from '../protocol/config.js';

export const ConsoleConfigSchema = Type.Object(
  {
    /** this console's name in logs and its ready line */
    consoleId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    host: Type.String({ minLength: 1 }),
    /** the console's API, /healthz, /metrics (0: any free port) */
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** who may sign in: "user:scryptHash" entries, comma-separated (the CSM's `operators` format) */
    operators: Type.String(),
    /** the CSM's admin API base URL; in production the CSM's virtual IP */
    csmUrl: Type.String({ minLength: 1, pattern: '^https?://' }),
    /** the console's own CSM operator account (Basic auth); list it in the CSM's `actorDelegates` */
    csmUser: Type.String(),
    csmPassword: Type.String(),
    /** per call to the CSM */
    csmTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
    /** how often the live feed polls the CSM */
    pollIntervalMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
    /** history kept for the charts, and its resolution */
    historyMs: Type.Integer({ minimum: 1000, maximum: 86_400_000 }),
    historyStepMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
    /** a session unused this long is signed out */
    sessionIdleMs: Type.Integer({ minimum: 1000 }),
    /** at most this many sessions at once; the least recently used goes first */
    maxSessions: Type.Integer({ minimum: 1, maximum: 100_000 }),
    /** signs the session cookie; empty: a random secret per run (sessions end with the process anyway) */
    cookieSecret: Type.String(),
    /** mark the session cookie Secure (set it when the console is served over HTTPS) */
    secureCookies: Type.Boolean(),
    /** sign-in attempts per minute per client address */
    signInPerMinute: Type.Integer({ minimum: 1 }),
    /** console API requests per minute per client address */
    rateLimitPerMinute: Type.Integer({ minimum: 1 }),
    /** live feeds open at once (each is one long-lived response) */
    maxLiveClients: Type.Integer({ minimum: 1, maximum: 10_000 }),
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

export type ConsoleConfig = Static<typeof ConsoleConfigSchema>;

export const consoleDefaults: ConsoleConfig = {
  consoleId: 'admin-1',
  host: '127.0.0.1',
  port: 8090,
  operators: '',
  csmUrl: 'http://127.0.0.1:7000',
  csmUser: '',
  csmPassword: '',
  csmTimeoutMs: 5000,
  pollIntervalMs: 1000,
  historyMs: 3_600_000,
  historyStepMs: 5000,
  sessionIdleMs: 1_800_000,
  maxSessions: 1000,
  cookieSecret: '',
  secureCookies: false,
  signInPerMinute: 10,
  rateLimitPerMinute: 600,
  maxLiveClients: 100,
  logLevel: 'info',
};

export const CONSOLE_ENV_PREFIX = 'ONAIR_ADMIN_';
