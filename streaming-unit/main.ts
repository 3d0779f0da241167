/** `onair unit`: run one streaming unit. */
import { integerFlag } from '../protocol/cli-flags.js';
import { parseArgs } from 'node:util';
import { ConfigError } from '../protocol/config.js';
import { createLogger } from '../protocol/logger.js';
import { loadUnitConfig, unitConfigDefaults, type UnitConfig } from './config.js';
import { StreamingUnit } from './StreamingUnit.js';

export const unitUsage = `usage: onair unit --id ID [options]

Runs a streaming unit: ${unitConfigDefaults.groupsPerUnit} groups of ${unitConfigDefaults.groupSize} viewers by default, holding a control link to the CSM.

  --id ID               unit id, unique in the cluster (required)
  --host HOST           address to bind (default ${unitConfigDefaults.host})
  --port N              client-facing HTTP/WebSocket port, 0 = any free one (default ${unitConfigDefaults.port})
  --csm HOST:PORT       the CSM's control address (default ${unitConfigDefaults.csmHost}:${unitConfigDefaults.csmControlPort})
  --groups N            groups this unit holds (default ${unitConfigDefaults.groupsPerUnit})
  --group-size N        viewers per group (default ${unitConfigDefaults.groupSize})
  --secret S            cluster secret (default: a development secret; set it in production)
  --config FILE         JSON file of options (keys as in streaming-unit/README.md)
  -h, --help            this text

Every option can also be set by environment: ONAIR_UNIT_<OPTION_IN_SCREAMING_CASE>
(e.g. ONAIR_UNIT_UNIT_ID, ONAIR_UNIT_CLUSTER_SECRET, ONAIR_UNIT_ADVERTISE_ADDRESS).
Precedence: defaults < --config file < environment < flags.`;

export interface UnitArgs {
  help: boolean;
  file: string | undefined;
  overrides: Partial<UnitConfig>;
}

/** "host:port", "[v6]:port" or ":port" (host kept at its default). */
export function parseHostPort(text: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!match) throw new ConfigError(`--csm must be HOST:PORT, got "${text}"`);
  const host = match[1] ?? match[2];
  const port = integerFlag('csm', match[3]!);
  return host ? { host, port } : { port };
}

export function parseUnitArgs(args: string[]): UnitArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        id: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        csm: { type: 'string' },
        groups: { type: 'string' },
        'group-size': { type: 'string' },
        secret: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${unitUsage}`);
  }
  const overrides: Partial<UnitConfig> = {};
  if (values.id !== undefined) overrides.unitId = values.id;
  if (values.host !== undefined) overrides.host = values.host;
  if (values.port !== undefined) overrides.port = integerFlag('port', values.port);
  if (values.csm !== undefined) {
    const { host, port } = parseHostPort(values.csm);
    if (host) overrides.csmHost = host;
    overrides.csmControlPort = port;
  }
  if (values.groups !== undefined) overrides.groupsPerUnit = integerFlag('groups', values.groups);
  if (values['group-size'] !== undefined) overrides.groupSize = integerFlag('group-size', values['group-size']);
  if (values.secret !== undefined) overrides.clusterSecret = values.secret;
  return { help: values.help ?? false, file: values.config, overrides };
}

export async function runUnitCommand(args: string[]): Promise<void> {
  const parsed = parseUnitArgs(args);
  if (parsed.help) {
    process.stdout.write(`${unitUsage}\n`);
    return;
  }
  const config = loadUnitConfig({ file: parsed.file, env: process.env, overrides: parsed.overrides });
  const logger = createLogger(`unit:${config.unitId}`, config.logLevel);
  const unit = await StreamingUnit.start(config, logger);
  process.stdout.write(`unit ${config.unitId} listening on ${unit.address}\n`);

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping');
    unit.close();
    // Everything is closed; pino flushes its buffered lines on exit.
    process.exit(0);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // Removed by the operator: the CSM will not take this unit back, so there is nothing left to serve.
  unit.on('removed', () => stop('removed by the operator'));
}
