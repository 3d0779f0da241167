/** `onair csm`: run one cluster server manager. */
import { stopOnSignals } from '../protocol/stop-on-signals.js';
import { parseArgs } from 'node:util';
import { loadConfig } from '../protocol/config.js';
import { createLogger } from '../protocol/logger.js';
import { Csm } from './Csm.js';
import { CSM_ENV_PREFIX, CsmConfigSchema, csmDefaults, type CsmConfig } from './config.js';
import { hashPassword } from './http/operator-auth.js';

const usage = `usage: onair csm [options]

Runs the cluster server manager: unit registry, placement, failure detection, the admin API.

  --config FILE         JSON file of options (see README: configuration)
  --host HOST           address to bind (default ${csmDefaults.host})
  --http-port N         service and admin API port (default ${csmDefaults.httpPort})
  --control-port N      port streaming units connect to (default ${csmDefaults.controlPort})
  --redis URL           mirror state, metadata and the event log to Redis (default: in memory)
  --role ROLE           active (default): claim the epoch and serve; backup: follow the mirror until
                        promoted (\`onair csm-ctl promote\`); backup needs --redis
  --secret S            cluster secret units must present
  --id ID               this CSM's id (default ${csmDefaults.csmId})
  --hash-password PW    print the scrypt hash of PW for the "operators" option, then exit
  -h, --help            this text

Every option can also be set by environment: ONAIR_CSM_<OPTION_IN_SCREAMING_CASE>.`;

export async function runCsmCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      'http-port': { type: 'string' },
      'control-port': { type: 'string' },
      redis: { type: 'string' },
      role: { type: 'string' },
      secret: { type: 'string' },
      id: { type: 'string' },
      'hash-password': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (values['hash-password'] !== undefined) {
    process.stdout.write(`${await hashPassword(values['hash-password'])}\n`);
    return;
  }
  const overrides: Partial<CsmConfig> = {};
  if (values.host) overrides.host = values.host;
  if (values['http-port']) overrides.httpPort = Number(values['http-port']);
  if (values['control-port']) overrides.controlPort = Number(values['control-port']);
  if (values.redis) overrides.redisUrl = values.redis;
  if (values.role) overrides.role = values.role as CsmConfig['role'];
  if (values.secret) overrides.clusterSecret = values.secret;
  if (values.id) overrides.csmId = values.id;
  const config = loadConfig(CsmConfigSchema, csmDefaults, { file: values.config, env: process.env, envPrefix: CSM_ENV_PREFIX, overrides });
  const logger = createLogger(`csm:${config.csmId}`, config.logLevel);
  const csm = await Csm.start(config, logger);
  process.stdout.write(`csm ${config.csmId} ready http=${csm.httpUrl} control=${config.host}:${csm.controlPort} epoch=${csm.epoch} role=${csm.role}\n`);
  stopOnSignals(logger, () => csm.close());
}
