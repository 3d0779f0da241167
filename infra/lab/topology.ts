/**
 * The lab's hosts, addresses and ports, and its options (strict schema, defaults, frozen).
 *
 * One /24 inside 198.18.0.0/15 (RFC 2544's benchmarking range, DESIGN.md "High availability"), by
 * default 198.18.0.0/24:
 *
 *   .10 VIP (keepalived)   .11 csm-a   .12 csm-b   .20 redis   .31–.39 unit-1…   .40 web   .50 client
 *
 * Every lab has its own bridge in its own namespace, so two labs may use the same addresses.
 */
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { InfraError } from '../errors.js';

export const CSM_HOSTS = ['csm-a', 'csm-b'] as const;
export type CsmHost = (typeof CSM_HOSTS)[number];
export const MAX_UNITS = 9;

/** host → last octet of its address */
const HOST_OCTET: Readonly<Record<string, number>> = { 'csm-a': 11, 'csm-b': 12, redis: 20, web: 40, client: 50 };
const VIP_OCTET = 10;
const UNIT_OCTET = 30; // unit-N is .30+N

export const LAB_PORTS = Object.freeze({ csmHttp: 7000, csmControl: 7001, unit: 7101, web: 8080, redis: 6379 });

/** keepalived priorities: csm-a is preferred when both start together; after that nopreempt rules */
export const CSM_PRIORITY: Readonly<Record<CsmHost, number>> = { 'csm-a': 150, 'csm-b': 100 };

export const LabOptionsSchema = Type.Object(
  {
    /** 1–8 lowercase letters or digits; part of every namespace name (default: random) */
    id: Type.String({ pattern: '^[a-z0-9]{1,8}$' }),
    /** the lab's /24: its first three octets, inside 198.18.0.0/15 (e.g. "198.18.0") */
    network: Type.String({ pattern: '^198\\.(18|19)\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$' }),
    /** unit hosts (unit-1 …) */
    units: Type.Integer({ minimum: 0, maximum: MAX_UNITS }),
    /** run `onair web` on the web host */
    web: Type.Boolean(),
    /** keepalived advert interval, seconds (sub-second: VRRPv3 centiseconds) */
    advertIntSeconds: Type.Number({ minimum: 0.05, maximum: 10 }),
    /** the track script of /healthz */
    healthIntervalSeconds: Type.Integer({ minimum: 1, maximum: 10 }),
    healthTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 10 }),
    healthFall: Type.Integer({ minimum: 1, maximum: 10 }),
    healthRise: Type.Integer({ minimum: 1, maximum: 10 }),
    /** extra environment for the CSMs, units and web server (e.g. faster failure detection) */
    csmEnv: Type.Record(Type.String({ pattern: '^ONAIR_CSM_[A-Z0-9_]+$' }), Type.String()),
    unitEnv: Type.Record(Type.String({ pattern: '^ONAIR_UNIT_[A-Z0-9_]+$' }), Type.String()),
    webEnv: Type.Record(Type.String({ pattern: '^ONAIR_WEB_[A-Z0-9_]+$' }), Type.String()),
    /** the admin API operator ("lab") password; default: random, kept in the state file (root only) */
    operatorPassword: Type.String({ minLength: 8, maxLength: 200 }),
    /** the whole `up` must finish in this time */
    startTimeoutMs: Type.Integer({ minimum: 5000, maximum: 600_000 }),
    /** where the lab's state directories live (each lab: <stateRoot>/<id>); must be root-owned, not writable by others */
    stateRoot: Type.String({ pattern: '^/[A-Za-z0-9._/-]*$' }),
    /** programmatic labs: tear everything down (SIGKILL, delete namespaces) if this process exits without down() */
    teardownOnExit: Type.Boolean(),
  },
  { additionalProperties: false },
);

export type LabOptions = Static<typeof LabOptionsSchema>;

export const labDefaults: Omit<LabOptions, 'id' | 'operatorPassword'> = {
  network: '198.18.0',
  units: 3,
  web: true,
  advertIntSeconds: 1,
  healthIntervalSeconds: 1,
  healthTimeoutSeconds: 2,
  healthFall: 2,
  healthRise: 2,
  csmEnv: {},
  unitEnv: {},
  webEnv: {},
  startTimeoutMs: 90_000,
  stateRoot: '/run/onair-lab',
  teardownOnExit: true,
};

export function parseLabOptions(input: Partial<LabOptions>, generated: Pick<LabOptions, 'id' | 'operatorPassword'>): Readonly<LabOptions> {
  const merged = { ...labDefaults, ...generated, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  if (!Value.Check(LabOptionsSchema, merged)) {
    const problems = [...Value.Errors(LabOptionsSchema, merged)].slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new InfraError('LAB_ERR_BAD_OPTIONS', problems.join('; '));
  }
  const centis = merged.advertIntSeconds * 100;
  if (Math.abs(Math.round(centis) - centis) > 1e-6) throw new InfraError('LAB_ERR_BAD_OPTIONS', '/advertIntSeconds must be a whole number of centiseconds');
  return Object.freeze(merged as LabOptions);
}

export interface LabHost {
  name: string;
  address: string;
  /** what runs there: process names */
  runs: string[];
}

/** The hosts of a lab with these options, in start order. */
export function labHosts(options: Pick<LabOptions, 'network' | 'units' | 'web'>): LabHost[] {
  const at = (octet: number): string => `${options.network}.${octet}`;
  return [
    { name: 'csm-a', address: at(HOST_OCTET['csm-a']!), runs: ['csm', 'keepalived'] },
    { name: 'csm-b', address: at(HOST_OCTET['csm-b']!), runs: ['csm', 'keepalived'] },
    { name: 'redis', address: at(HOST_OCTET['redis']!), runs: ['redis'] },
    ...Array.from({ length: options.units }, (_, i) => ({ name: `unit-${i + 1}`, address: at(UNIT_OCTET + i + 1), runs: ['unit'] })),
    { name: 'web', address: at(HOST_OCTET['web']!), runs: options.web ? ['web'] : [] },
    { name: 'client', address: at(HOST_OCTET['client']!), runs: [] },
  ];
}

export const labVip = (network: string): string => `${network}.${VIP_OCTET}`;
export const LAB_PREFIX = 24;

/** Is this IPv4 address in 198.18.0.0/15, the only range the lab uses? */
export function inLabRange(address: string): boolean {
  const octets = address.split('.').map(Number);
  return octets.length === 4 && octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255) && octets[0] === 198 && (octets[1] === 18 || octets[1] === 19);
}

/** the namespace of a host of lab `id` (`onair-<id>-<host>`), and of its switch */
export const namespaceOf = (id: string, host: string): string => `onair-${id}-${host}`;
export const switchNamespaceOf = (id: string): string => `onair-${id}-sw`;
