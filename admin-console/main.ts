/** `onair admin`: run the admin console's server (operator sign-in, the live feed, actions on the CSM). */
import { commandFlags, integerFlag } from '../protocol/cli-flags.js';
import { loadConfig } from '../protocol/config.js';
import { createLogger } from '../protocol/logger.js';
import { stopOnSignals } from '../protocol/stop-on-signals.js';
import { AdminConsole } from './AdminConsole.js';
import { CONSOLE_ENV_PREFIX, ConsoleConfigSchema, consoleDefaults, type ConsoleConfig } from './config.js';

const usage = `usage: onair admin [options]

Runs the admin console's server: operators sign in (operators, the CSM's "user:scryptHash" format),
watch the cluster over a live feed, and fail over, drain, resume or remove units, expand, shrink or
close channels through the CSM's admin API, as the console's own CSM account (csmUser, csmPassword)
with the signed-in operator named as the actor.

  --config FILE         JSON file of options (see README: Admin console)
  --host HOST           address to bind (default ${consoleDefaults.host})
  --port N              HTTP port, 0 = any free one (default ${consoleDefaults.port})
  --csm URL             the CSM's admin API (default ${consoleDefaults.csmUrl}; in production its virtual IP)
  --id ID               this console's id (default ${consoleDefaults.consoleId})
  -h, --help            this text

Every option can also be set by environment: ONAIR_ADMIN_<OPTION_IN_SCREAMING_CASE>
(e.g. ONAIR_ADMIN_OPERATORS, ONAIR_ADMIN_CSM_USER, ONAIR_ADMIN_CSM_PASSWORD, ONAIR_ADMIN_COOKIE_SECRET).
Precedence: defaults < --config file < environment < flags.`;

export async function runAdminCommand(args: string[]): Promise<void> {
  const values = commandFlags(
    args,
    {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      csm: { type: 'string' },
      id: { type: 'string' },
    },
    usage,
  );
  if (!values) return;
  const overrides: Partial<ConsoleConfig> = {};
  if (values.host !== undefined) overrides.host = values.host;
  if (values.port !== undefined) overrides.port = integerFlag('port', values.port);
  if (values.csm !== undefined) overrides.csmUrl = values.csm;
  if (values.id !== undefined) overrides.consoleId = values.id;
  const config = loadConfig(ConsoleConfigSchema, consoleDefaults, { file: values.config, env: process.env, envPrefix: CONSOLE_ENV_PREFIX, overrides });
  const logger = createLogger(`admin:${config.consoleId}`, config.logLevel);
  const server = await AdminConsole.start(config, logger);
  process.stdout.write(`admin ${config.consoleId} ready http=${server.url} csm=${config.csmUrl}\n`);
  stopOnSignals(logger, () => server.close());
}
