/**
 * keepalived.conf for one CSM host, from a checked KeepalivedConfig (config.ts). Pure: the same config
 * gives the same text. Every value that reaches the file has passed the schema's patterns, so nothing
 * needs quoting beyond the script lines.
 */
import { parseKeepalivedConfig, type KeepalivedConfig } from './config.js';

/** file names of the shipped scripts (infra/keepalived/scripts/), installed under `scriptsDir` */
export const CHECK_SCRIPT = 'onair-csm-check.sh';
export const NOTIFY_SCRIPT = 'onair-csm-notify.sh';
/** the vrrp_script block's name */
export const HEALTH_SCRIPT_NAME = 'onair_csm_health';

/** keepalived event → what the CSM is told. Every state but MASTER means "not the active one". */
export const NOTIFY_ACTIONS = {
  notify_master: { event: 'MASTER', action: 'promote' },
  notify_backup: { event: 'BACKUP', action: 'demote' },
  notify_fault: { event: 'FAULT', action: 'demote' },
  notify_stop: { event: 'STOP', action: 'demote' },
} as const;

/** advert_int as keepalived reads it: whole seconds plain, else up to two decimals */
export function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(2).replace(/0$/, '');
}

function scriptPath(config: KeepalivedConfig, file: string): string {
  return `${config.scriptsDir.replace(/\/+$/, '')}/${file}`;
}

export function checkScriptLine(config: KeepalivedConfig): string {
  return `${scriptPath(config, CHECK_SCRIPT)} ${config.health.url} ${config.health.timeoutSeconds}`;
}

export function notifyScriptLine(config: KeepalivedConfig, event: string, action: string): string {
  const c = config.csmCtl;
  return [
    scriptPath(config, NOTIFY_SCRIPT),
    `--action ${action}`,
    `--event ${event}`,
    `--url ${c.url}`,
    `--env-file ${c.envFile}`,
    `--state-file ${c.stateFile}`,
    `--log ${c.logFile}`,
    `--attempts ${c.attempts}`,
    `--call-timeout ${c.callTimeoutSeconds}`,
    '--',
    ...c.command,
  ].join(' ');
}

/** Accepts a parsed config or anything parseKeepalivedConfig accepts (checked either way). */
export function renderKeepalivedConf(input: KeepalivedConfig | unknown): string {
  const config = parseKeepalivedConfig(input);
  const lines: string[] = [];
  const add = (indent: number, text: string): void => void lines.push(`${'    '.repeat(indent)}${text}`);

  add(0, `! keepalived.conf of OnAir CSM host ${config.routerId}: rendered by \`onair keepalived render\`; do not edit by hand.`);
  add(0, '! Both CSM hosts start BACKUP with nopreempt: the first healthy one to time out becomes MASTER and');
  add(0, '! keeps the VIP until it fails; a recovered host does not take it back (no second failover).');
  add(0, '! Why every setting is what it is: infra/README.md, "keepalived".');
  add(0, 'global_defs {');
  add(1, `router_id ${config.routerId}`);
  add(1, '! scripts run as root only from root-owned paths nobody else can write');
  add(1, 'enable_script_security');
  add(1, `script_user ${config.scriptUser}`);
  add(0, '}');
  add(0, '');
  add(0, `vrrp_script ${HEALTH_SCRIPT_NAME} {`);
  add(1, `script "${checkScriptLine(config)}"`);
  add(1, `interval ${config.health.intervalSeconds}`);
  add(1, `timeout ${config.health.timeoutSeconds}`);
  add(1, `fall ${config.health.fall}`);
  add(1, `rise ${config.health.rise}`);
  add(1, '! weight 0: a failing CSM puts the instance in FAULT (a negative weight would not move the VIP under nopreempt)');
  add(1, 'weight 0');
  add(0, '}');
  add(0, '');
  add(0, `vrrp_instance ${config.instanceName} {`);
  add(1, 'state BACKUP');
  add(1, 'nopreempt');
  add(1, `interface ${config.interface}`);
  add(1, `virtual_router_id ${config.virtualRouterId}`);
  add(1, `priority ${config.priority}`);
  add(1, `version ${config.vrrpVersion}`);
  add(1, `advert_int ${formatSeconds(config.advertIntSeconds)}`);
  add(1, '! unicast adverts; accepted only from the listed peers, sent with TTL 255 and required to arrive with it');
  add(1, `unicast_src_ip ${config.unicastSrcIp}`);
  add(1, 'check_unicast_src');
  add(1, 'unicast_peer {');
  for (const peer of config.unicastPeers) add(2, `${peer} min_ttl 255`);
  add(1, '}');
  add(1, '! no authentication block: VRRPv3 has none (RFC 5798); see infra/README.md');
  add(1, 'virtual_ipaddress {');
  for (const vip of config.virtualIps) add(2, `${vip.address}/${vip.prefix} dev ${config.interface}`);
  add(1, '}');
  add(1, 'track_script {');
  add(2, HEALTH_SCRIPT_NAME);
  add(1, '}');
  for (const [keyword, { event, action }] of Object.entries(NOTIFY_ACTIONS)) add(1, `${keyword} "${notifyScriptLine(config, event, action)}"`);
  add(0, '}');
  return `${lines.join('\n')}\n`;
}
