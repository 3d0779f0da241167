/** `onair keepalived render | install-scripts`: keepalived.conf for a CSM host, and its scripts. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InfraError } from '../errors.js';
import { renderKeepalivedConf } from './render.js';
import { installKeepalivedScripts } from './scripts.js';

const usage = `usage: onair keepalived <subcommand> [options]

  render --config FILE          print keepalived.conf for one CSM host; FILE is JSON with the
                                options in infra/README.md ("keepalived"); invalid ones are refused
  install-scripts [--dir DIR]   copy the check and notify scripts to DIR (default
                                /etc/keepalived/onair) as root:root 0755 and check the path is one
                                keepalived's enable_script_security accepts
  -h, --help                    this text`;

export async function runKeepalivedCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(`${usage}\n`);
    if (!sub) process.exitCode = 1;
    return;
  }
  if (sub === 'render') {
    const { values } = parseArgs({ args: rest, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return void process.stdout.write(`${usage}\n`);
    if (!values.config) throw new Error(`render needs --config FILE\n\n${usage}`);
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(values.config, 'utf8'));
    } catch (error) {
      throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', `cannot read ${values.config}: ${(error as Error).message}`);
    }
    process.stdout.write(renderKeepalivedConf(input));
    return;
  }
  if (sub === 'install-scripts') {
    const { values } = parseArgs({ args: rest, options: { dir: { type: 'string', default: '/etc/keepalived/onair' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) return void process.stdout.write(`${usage}\n`);
    for (const path of installKeepalivedScripts(values.dir)) process.stdout.write(`${path}\n`);
    return;
  }
  throw new Error(`unknown subcommand "${sub}"\n\n${usage}`);
}
