/** Small helpers every `onair` command shares for its flags. */
import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';

/** `--flag N`: a non-negative integer, or a ConfigError naming the flag. */
export function integerFlag(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(`--${flag} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

/** http://host:port, with an IPv6 host in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

type StringFlags = Record<string, { type: 'string' }>;

/**
 * A command's flags: the given string options plus `-h/--help`, strictly (an unknown flag or a stray
 * argument is a ConfigError followed by the usage). Null when help was asked for (the usage is printed).
 */
export function commandFlags<O extends StringFlags>(args: string[], options: O, usage: string): { [K in keyof O]?: string } | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${usage}`);
  }
  if (values['help']) {
    process.stdout.write(`${usage}\n`);
    return null;
  }
  return values as { [K in keyof O]?: string };
}
