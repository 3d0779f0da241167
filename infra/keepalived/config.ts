/**
 * One CSM host's keepalived configuration, typed and checked: a strict TypeBox schema (unknown keys
 * refused) plus the rules a schema cannot say (a sub-second advert needs VRRPv3, the peers are not
 * this host, the health URL is this host's own CSM …). `parseKeepalivedConfig` fills defaults,
 * checks, and freezes; `renderKeepalivedConf` (render.ts) turns the result into keepalived.conf.
 *
 * Why each setting is what it is: infra/README.md, "keepalived".
 */
import { isIPv4 } from 'node:net';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { InfraError } from '../errors.js';

/** dotted quad; isIPv4 also runs in checkKeepalivedConfig, the pattern keeps the schema honest */
const IPv4 = Type.String({ pattern: '^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}$' });
/** an absolute path keepalived can put in a script line: no whitespace or quotes */
const AbsPath = Type.String({ pattern: '^/[A-Za-z0-9._/+@:-]*$', maxLength: 512 });
/** one word of the command line that runs `onair` (e.g. /usr/bin/node /opt/onair/bin/onair.js) */
const CommandWord = Type.String({ pattern: '^[A-Za-z0-9._/+@:=-]+$', maxLength: 512 });
/** http://127.0.0.1:PORT or http://localhost:PORT, optionally with a path: the CSM on this host */
const LocalHttpUrl = Type.String({ pattern: '^http://(127\\.0\\.0\\.1|localhost)(:\\d{1,5})?(/[A-Za-z0-9._/~-]*)?$' });

export const KeepalivedConfigSchema = Type.Object(
  {
    /** vrrp_instance name; the same on both CSM hosts */
    instanceName: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' }),
    /** global_defs router_id: this host's name in keepalived's logs */
    routerId: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    /** the interface the VIP lives on and adverts go out of (at most 15 characters, IFNAMSIZ) */
    interface: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,15}$' }),
    /** VRID, 1..255; the same on both hosts, unique on the segment */
    virtualRouterId: Type.Integer({ minimum: 1, maximum: 255 }),
    /** 1..254; different on the two hosts (255 means "address owner", which always preempts: refused) */
    priority: Type.Integer({ minimum: 1, maximum: 254 }),
    /** seconds between adverts; VRRPv3 carries centiseconds (0.01..40.95), VRRPv2 whole seconds */
    advertIntSeconds: Type.Number({ minimum: 0.01, maximum: 255 }),
    /** 3 (RFC 5798) by default; 2 only with a whole-second advert interval */
    vrrpVersion: Type.Union([Type.Literal(2), Type.Literal(3)]),
    /** this host's own address on `interface`: the source of its unicast adverts */
    unicastSrcIp: IPv4,
    /** the other CSM host(s); adverts go to them by unicast (no multicast needed on the segment) */
    unicastPeers: Type.Array(IPv4, { minItems: 1, maxItems: 8, uniqueItems: true }),
    /** the virtual IP(s) every unit and web server uses to reach the active CSM */
    virtualIps: Type.Array(
      Type.Object({ address: IPv4, prefix: Type.Integer({ minimum: 1, maximum: 32 }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 16 },
    ),
    /** the track script: GET this host's CSM /healthz; a failure puts the instance in FAULT */
    health: Type.Object(
      {
        url: LocalHttpUrl,
        /** seconds between checks; keepalived 2.2.7 takes whole seconds only */
        intervalSeconds: Type.Integer({ minimum: 1, maximum: 60 }),
        /** seconds before a check counts as failed (also the HTTP timeout) */
        timeoutSeconds: Type.Integer({ minimum: 1, maximum: 60 }),
        /** consecutive failures before FAULT */
        fall: Type.Integer({ minimum: 1, maximum: 20 }),
        /** consecutive successes before leaving FAULT */
        rise: Type.Integer({ minimum: 1, maximum: 20 }),
      },
      { additionalProperties: false },
    ),
    /** how the notify scripts reach this host's CSM: `<command> csm-ctl promote|demote --url <url>` */
    csmCtl: Type.Object(
      {
        url: LocalHttpUrl,
        /** argv that runs `onair`, e.g. ["/usr/bin/node", "/opt/onair/bin/onair.js"] */
        command: Type.Array(CommandWord, { minItems: 1, maxItems: 8 }),
        /** a file with ONAIR_CSM_CLUSTER_SECRET=… (the CSM's own systemd EnvironmentFile) */
        envFile: AbsPath,
        /** where the notify script keeps the latest wanted role (later transitions supersede earlier ones) */
        stateFile: AbsPath,
        /** where the notify script logs every call and its outcome */
        logFile: AbsPath,
        /** tries of one promote/demote (1 s apart) while it is still the latest transition */
        attempts: Type.Integer({ minimum: 1, maximum: 30 }),
        /** seconds one `csm-ctl` call may take */
        callTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 60 }),
      },
      { additionalProperties: false },
    ),
    /** where onair-csm-check.sh and onair-csm-notify.sh are installed (root-owned, not writable by others) */
    scriptsDir: AbsPath,
    /** user the scripts run as (global_defs script_user); root, because csm-ctl reads the root-only env file */
    scriptUser: Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$' }),
  },
  { additionalProperties: false },
);

export type KeepalivedConfig = Static<typeof KeepalivedConfigSchema>;

/** What a host's file may leave out. Per-host fields (addresses, priority, interface) have no default. */
export const keepalivedDefaults = {
  instanceName: 'ONAIR_CSM',
  virtualRouterId: 51,
  advertIntSeconds: 1,
  vrrpVersion: 3,
  health: { url: 'http://127.0.0.1:7000/healthz', intervalSeconds: 1, timeoutSeconds: 2, fall: 2, rise: 2 },
  csmCtl: {
    url: 'http://127.0.0.1:7000',
    command: ['/usr/bin/node', '/opt/onair/bin/onair.js'],
    envFile: '/etc/onair/csm.env',
    stateFile: '/run/onair/keepalived-role',
    logFile: '/var/log/onair/keepalived-notify.log',
    attempts: 5,
    callTimeoutSeconds: 5,
  },
  scriptsDir: '/etc/keepalived/onair',
  scriptUser: 'root',
} as const satisfies Partial<KeepalivedConfig>;

/** A config as written in a file: the defaults may be left out; `health` and `csmCtl` merge key by key. */
export type KeepalivedConfigInput = Omit<Partial<KeepalivedConfig>, 'health' | 'csmCtl'> & {
  health?: Partial<KeepalivedConfig['health']>;
  csmCtl?: Partial<KeepalivedConfig['csmCtl']>;
};

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Defaults → input (nested objects merged), schema, the rules below; frozen. Throws KEEPALIVED_ERR_INVALID_CONFIG. */
export function parseKeepalivedConfig(input: unknown): Readonly<KeepalivedConfig> {
  if (!isObject(input)) throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', 'not a JSON object');
  const merged: Record<string, unknown> = { ...structuredClone(keepalivedDefaults), ...input };
  for (const key of ['health', 'csmCtl'] as const) {
    const given = input[key];
    if (given !== undefined && !isObject(given)) throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', `/${key} must be an object`);
    merged[key] = { ...keepalivedDefaults[key], ...(given ?? {}) };
  }
  if (!Value.Check(KeepalivedConfigSchema, merged)) {
    const problems = [...Value.Errors(KeepalivedConfigSchema, merged)].slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', problems.join('; '));
  }
  const config = merged as KeepalivedConfig;
  const problems = checkKeepalivedConfig(config);
  if (problems.length > 0) throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', problems.join('; '));
  return deepFreeze(config);
}

/** The rules between fields; empty when the config is sound. */
export function checkKeepalivedConfig(config: KeepalivedConfig): string[] {
  const problems: string[] = [];
  const centis = Math.round(config.advertIntSeconds * 100);
  if (Math.abs(centis - config.advertIntSeconds * 100) > 1e-6) problems.push(`/advertIntSeconds ${config.advertIntSeconds} is not a whole number of centiseconds`);
  if (config.vrrpVersion === 3 && config.advertIntSeconds > 40.95) problems.push('/advertIntSeconds over 40.95 s does not fit VRRPv3 (12 bits of centiseconds)');
  if (config.vrrpVersion === 2 && !Number.isInteger(config.advertIntSeconds)) problems.push('/advertIntSeconds: a sub-second or fractional advert interval needs vrrpVersion 3');
  const addresses = [config.unicastSrcIp, ...config.unicastPeers, ...config.virtualIps.map((v) => v.address)];
  for (const address of addresses) if (!isIPv4(address)) problems.push(`${address} is not an IPv4 address`);
  if (config.unicastPeers.includes(config.unicastSrcIp)) problems.push('/unicastPeers must not contain this host (unicastSrcIp)');
  const vips = config.virtualIps.map((v) => v.address);
  if (new Set(vips).size !== vips.length) problems.push('/virtualIps has duplicates');
  for (const vip of vips) if (vip === config.unicastSrcIp || config.unicastPeers.includes(vip)) problems.push(`/virtualIps ${vip} is a host's own address, not a virtual one`);
  return problems;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
