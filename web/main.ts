/** `onair web`: run the web server (the site's pages and the browser API in front of the CSM). */
import { commandFlags, integerFlag } from '../protocol/cli-flags.js';
import { stopOnSignals } from '../protocol/stop-on-signals.js';
import { loadConfig } from '../protocol/config.js';
import { createLogger } from '../protocol/logger.js';
import { WEB_ENV_PREFIX, WebConfigSchema, webDefaults, type WebConfig } from './server/config.js';
import { WebServer } from './server/WebServer.js';

const usage = `usage: onair web [options]

Runs the web server: the home, broadcast and watch pages, and the browser API (/api/v1) that
forwards to the CSM's service API and lists channels from its own store, synced with the CSM.

  --config FILE         JSON file of options (see README: configuration)
  --host HOST           address to bind (default ${webDefaults.host})
  --port N              HTTP port, 0 = any free one (default ${webDefaults.port})
  --csm URL             the CSM's service API (default ${webDefaults.csmUrl}; in production its virtual IP)
  --redis URL           keep channel metadata in Redis, shared by every web server (default: in memory)
  --id ID               this web server's id (default ${webDefaults.webId})
  -h, --help            this text

Every option can also be set by environment: ONAIR_WEB_<OPTION_IN_SCREAMING_CASE>
(e.g. ONAIR_WEB_CSM_SERVICE_TOKEN, ONAIR_WEB_CHANNEL_SYNC_MS, ONAIR_WEB_PAGES_DIR).
Precedence: defaults < --config file < environment < flags.`;

export async function runWebCommand(args: string[]): Promise<void> {
  const values = commandFlags(
    args,
    {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      csm: { type: 'string' },
      redis: { type: 'string' },
      id: { type: 'string' },
    },
    usage,
  );
  if (!values) return;
  const overrides: Partial<WebConfig> = {};
  if (values.host !== undefined) overrides.host = values.host;
  if (values.port !== undefined) overrides.port = integerFlag('port', values.port);
  if (values.csm !== undefined) overrides.csmUrl = values.csm;
  if (values.redis !== undefined) overrides.redisUrl = values.redis;
  if (values.id !== undefined) overrides.webId = values.id;
  const config = loadConfig(WebConfigSchema, webDefaults, { file: values.config, env: process.env, envPrefix: WEB_ENV_PREFIX, overrides });
  const logger = createLogger(`web:${config.webId}`, config.logLevel);
  const server = await WebServer.start(config, logger);
  process.stdout.write(`web ${config.webId} ready http=${server.url} csm=${config.csmUrl} store=${server.stores.channels.kind}\n`);
  stopOnSignals(logger, () => server.close());
}
