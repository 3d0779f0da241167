/**
 * HTTP from inside a lab namespace. The lab's hosts are reachable only from their own segment (the
 * root namespace has no route to it, on purpose), so a probe runs as `ip netns exec <ns> curl …`
 * (node's fetch when curl is missing), bounded by a timeout. Credentials go on stdin, not argv.
 */
import { run } from './system.js';

export interface ProbeResult {
  /** HTTP status; 0 when there was no answer (refused, unreachable, timed out) */
  status: number;
  body: string;
}

export interface ProbeOptions {
  timeoutSeconds?: number;
  /** user:password for Basic auth */
  basicAuth?: string;
  method?: string;
}

const NODE_PROBE = `
const [url, seconds, method, auth] = process.argv.slice(1);
const headers = auth ? { authorization: 'Basic ' + Buffer.from(auth).toString('base64') } : {};
fetch(url, { method, headers, signal: AbortSignal.timeout(Number(seconds) * 1000) })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch(() => process.stdout.write(JSON.stringify({ status: 0, body: '' })));
`;

export async function httpInNamespace(ns: string, url: string, useCurl: boolean, options: ProbeOptions = {}): Promise<ProbeResult> {
  const seconds = options.timeoutSeconds ?? 2;
  const method = options.method ?? 'GET';
  const timeoutMs = seconds * 1000 + 5000;
  if (!useCurl) {
    const result = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', NODE_PROBE, url, String(seconds), method, options.basicAuth ?? ''], { timeoutMs });
    try {
      return JSON.parse(result.stdout) as ProbeResult;
    } catch {
      return { status: 0, body: '' };
    }
  }
  const config = options.basicAuth ? `user = "${options.basicAuth.replace(/["\\]/g, '\\$&')}"\n` : '';
  const result = await run(
    'ip',
    ['netns', 'exec', ns, 'curl', '--silent', '--noproxy', '*', '--max-time', String(seconds), '--request', method, '--config', '-', '--write-out', '\n%{http_code}', url],
    { timeoutMs, input: config },
  );
  const cut = result.stdout.lastIndexOf('\n');
  const status = Number(result.stdout.slice(cut + 1));
  return { status: Number.isInteger(status) ? status : 0, body: cut >= 0 ? result.stdout.slice(0, cut) : '' };
}
