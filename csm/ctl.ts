/**
 * `onair csm-ctl promote|demote|status`: what keepalived's notify scripts run on a CSM host. It calls
 * the local CSM's role API (/ops/v1, role-routes.ts) with the cluster secret and prints the answer as
 * one JSON line on stdout. Exit status: 0 done (also when nothing had to change), 1 the CSM refused
 * or failed (its error code on stderr; a promotion refused with CSM_ERR_STORE_UNAVAILABLE is still
 * retried by the CSM), 2 a usage error, 3 the CSM could not be reached.
 */
import { parseArgs } from 'node:util';

const usage = `usage: onair csm-ctl <promote|demote|status> [options]

Asks the local CSM to become active (promote), to become a backup (demote), or for its role (status).
keepalived's notify scripts run it; the CSM only answers it from loopback (opsAllowFrom).

  --url URL          the CSM's HTTP address (default http://127.0.0.1:7000)
  --secret S         the cluster secret (default: env ONAIR_CSM_CLUSTER_SECRET)
  --reason TEXT      why, for the CSM's log and event log (promote, demote)
  --timeout-ms N     give up after this long (default 10000)
  -h, --help         this text

Prints the CSM's answer ({csmId, role, epoch, storeEpoch, ...}) as JSON. Exit status: 0 done,
1 refused or failed (code on stderr), 2 usage error, 3 CSM unreachable.`;

const ACTIONS = { promote: 'POST', demote: 'POST', status: 'GET' } as const;
type Action = keyof typeof ACTIONS;

export async function runCsmCtlCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        secret: { type: 'string' },
        reason: { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    return fail(2, `${(error as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const action = positionals[0];
  if (positionals.length !== 1 || !action || !(action in ACTIONS)) return fail(2, `name one action: promote, demote or status\n\n${usage}`);
  const secret = values.secret ?? env.ONAIR_CSM_CLUSTER_SECRET;
  if (!secret) return fail(2, 'no cluster secret: give --secret or set ONAIR_CSM_CLUSTER_SECRET');
  const timeoutMs = Number(values['timeout-ms'] ?? 10_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) return fail(2, `--timeout-ms must be a positive integer, got ${values['timeout-ms']}`);
  const base = (values.url ?? 'http://127.0.0.1:7000').replace(/\/+$/, '');
  const method = ACTIONS[action as Action];
  const body = method === 'POST' ? JSON.stringify(values.reason ? { reason: values.reason } : {}) : null;

  let response: Response;
  try {
    response = await fetch(`${base}/ops/v1/${action}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return fail(3, `cannot reach the CSM at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  if (response.ok) {
    process.stdout.write(`${text}\n`);
    return;
  }
  let detail = text;
  try {
    const error = JSON.parse(text) as { code?: string; message?: string };
    if (error.code) detail = `${error.code}: ${error.message ?? ''}`;
  } catch {
    // not the API's error shape: print it as it came
  }
  return fail(1, `${action} refused (HTTP ${response.status}) ${detail}`);
}

function fail(status: number, message: string): void {
  process.stderr.write(`onair csm-ctl: ${message}\n`);
  process.exitCode = status;
}
