/** The web server's configuration: every option, its default, checked by a strict schema (see README). */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Type, { type Static } from 'typebox';
import { LogLevel } from '../../protocol/config.js';

export const WebConfigSchema = Type.Object(
  {
    /** this web server's name in logs, metrics and its ready line */
    webId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }),
    host: Type.String({ minLength: 1 }),
    /** pages, the browser API, /healthz, /metrics, /docs (0: any free port) */
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** the CSM's service API base URL; in production the CSM's virtual IP */
    csmUrl: Type.String({ minLength: 1, pattern: '^https?://' }),
    /** sent to the CSM as `Authorization: Bearer <token>` when set; never sent to browsers */
    csmServiceToken: Type.String(),
    /** per call to the CSM; a CSM slower than this counts as unreachable */
    csmTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
    /** empty: channel metadata in memory (one web server); else redis://host:port or redis-sentinel://…/name, shared by every web server */
    redisUrl: Type.String(),
    redisPrefix: Type.String({ minLength: 1 }),
    /** how often viewers, peaks and live channels are refreshed from the CSM */
    channelSyncMs: Type.Integer({ minimum: 100 }),
    /** an ended channel stays readable (GET /api/v1/channels/:id) this long, then is removed */
    endedRetentionMs: Type.Integer({ minimum: 0 }),
    /** browser API requests per minute per client address */
    rateLimitPerMinute: Type.Integer({ minimum: 1 }),
    /** the built pages (a relative path is from the working directory); empty: dist/web/public beside this compiled module */
    pagesDir: Type.String(),
    logLevel: LogLevel,
  },
  { additionalProperties: false },
);

export type WebConfig = Static<typeof WebConfigSchema>;

export const webDefaults: WebConfig = {
  webId: 'web-1',
  host: '127.0.0.1',
  port: 8080,
  csmUrl: 'http://127.0.0.1:7000',
  csmServiceToken: '',
  csmTimeoutMs: 5000,
  redisUrl: '',
  redisPrefix: 'onair:',
  channelSyncMs: 2000,
  endedRetentionMs: 3_600_000,
  rateLimitPerMinute: 600,
  pagesDir: '',
  logLevel: 'info',
};

export const WEB_ENV_PREFIX = 'ONAIR_WEB_';

/**
 * Where the pages are served from. `npm run build` writes them to dist/web/public and this module
 * compiles to dist/web/server/config.js, so the default is found from the module, not the working
 * directory: `onair web` serves the pages wherever it is started from.
 */
export function resolvePagesDir(configured: string): string {
  // A relative pagesDir is taken from the working directory, as a shell user means it.
  return configured ? resolve(configured) : fileURLToPath(new URL('../public/', import.meta.url));
}
