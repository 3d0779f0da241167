/** Small helpers every `onair` command shares for its flags. */
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
