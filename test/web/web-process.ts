/**
 * `onair web` as a real process for the web tests (started through test/support/processes.ts, so it
 * is killed by PID on stop and when the test process exits early), and small HTTP helpers.
 */
import { startOnair, type OnairProcess } from '../support/processes.js';

/** the web server's ready line; groups: id, URL, CSM URL, store kind */
export const WEB_READY = /^web (\S+) ready http=(\S+) csm=(\S+) store=(\S+)/;

export interface WebProcess {
  process: OnairProcess;
  url: string;
  stop(): Promise<void>;
}

/** Starts `onair web --port 0` in front of `csmUrl`; `env` adds ONAIR_WEB_* options. */
export async function startWeb(csmUrl: string, env: Record<string, string> = {}, args: string[] = []): Promise<WebProcess> {
  const process = await startOnair(['web', '--port', '0', '--csm', csmUrl, ...args], { ONAIR_WEB_LOG_LEVEL: 'warn', ...env }, WEB_READY);
  return { process, url: process.ready[2]!, stop: () => process.stop() };
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

/** One HTTP call; a JSON body is parsed (null when empty or not JSON). */
export async function http<T = unknown>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const raw = typeof body === 'string' || body instanceof Uint8Array;
  const response = await fetch(url, {
    method,
    headers: { ...(body === undefined || raw ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? null : raw ? (body as string) : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}
