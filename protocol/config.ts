/**
 * Configuration for every process: defaults → JSON file → environment → explicit overrides, checked
 * by a strict schema (unknown keys refused), then frozen and passed explicitly. Nothing reads the
 * environment at import time.
 */
import { readFileSync } from 'node:fs';
import type { Static, TObject } from 'typebox';
import Type from 'typebox';
import { Value } from 'typebox/value';
import { CodedError } from './control-errors.js';

export class ConfigError extends CodedError {
  constructor(message: string) {
    super('CONFIG_ERR_INVALID', message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources<T> {
  /** path of a JSON file whose keys override the defaults */
  file?: string | undefined;
  /** usually process.env; a key `fooBarMs` is read from `${envPrefix}FOO_BAR_MS` */
  env?: Record<string, string | undefined>;
  envPrefix?: string;
  overrides?: Partial<T>;
}

export function envName(prefix: string, key: string): string {
  return prefix + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function loadConfig<S extends TObject>(schema: S, defaults: Static<S>, sources: ConfigSources<Static<S>> = {}): Readonly<Static<S>> {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  if (sources.file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read config file ${sources.file}: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${sources.file}: not a JSON object`);
    Object.assign(merged, parsed);
  }
  if (sources.env && sources.envPrefix) {
    const fromEnv: Record<string, unknown> = {};
    for (const key of Object.keys(schema.properties)) {
      const raw = sources.env[envName(sources.envPrefix, key)];
      if (raw !== undefined) fromEnv[key] = raw;
    }
    // Environment values are strings; convert them by the schema (numbers, booleans) before merging.
    Object.assign(merged, Value.Convert(schema, { ...merged, ...fromEnv }) as Record<string, unknown>);
  }
  for (const [key, value] of Object.entries(sources.overrides ?? {})) if (value !== undefined) merged[key] = value;
  if (!Value.Check(schema, merged)) {
    const problems = [...Value.Errors(schema, merged)].slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(merged) as Readonly<Static<S>>;
}

/** pino's levels, for every process's `logLevel` option. */
export const LogLevel = Type.Union([
  Type.Literal('fatal'),
  Type.Literal('error'),
  Type.Literal('warn'),
  Type.Literal('info'),
  Type.Literal('debug'),
  Type.Literal('trace'),
  Type.Literal('silent'),
]);
