/**
 * The shipped check and notify scripts (infra/keepalived/scripts/) and their installation where
 * keepalived's script security accepts them: the files root-owned, mode 0755, and every directory on
 * the path owned by root and not writable by group or others (enable_script_security refuses to run
 * a root script that a non-root user could replace).
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from '../errors.js';
import { CHECK_SCRIPT, NOTIFY_SCRIPT } from './render.js';

/** the scripts in the source tree (this file runs from dist/infra/keepalived/) */
export const shippedScriptsDir = fileURLToPath(new URL('../../../infra/keepalived/scripts/', import.meta.url));

export const KEEPALIVED_SCRIPTS = [CHECK_SCRIPT, NOTIFY_SCRIPT] as const;

/** Copies both scripts into `dir` (created 0755 if missing) as root:root 0755; checks the path. */
export function installKeepalivedScripts(dir: string): string[] {
  const target = resolve(dir);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const installed: string[] = [];
  for (const name of KEEPALIVED_SCRIPTS) {
    const to = join(target, name);
    copyFileSync(join(shippedScriptsDir, name), to);
    if (process.getuid?.() === 0) chownSync(to, 0, 0);
    chmodSync(to, 0o755);
    installed.push(to);
  }
  const problems = scriptPathProblems(target);
  if (problems.length > 0) throw new InfraError('KEEPALIVED_ERR_INVALID_CONFIG', `scripts in ${target} would be refused by enable_script_security: ${problems.join('; ')}`);
  return installed;
}

/** What keepalived's script security would object to on the way from / to `dir`. */
export function scriptPathProblems(dir: string): string[] {
  const problems: string[] = [];
  for (let path = resolve(dir); ; path = dirname(path)) {
    const stat = statSync(path);
    if (stat.uid !== 0) problems.push(`${path} is owned by uid ${stat.uid}, not root`);
    if ((stat.mode & 0o022) !== 0) problems.push(`${path} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)})`);
    if (path === dirname(path)) break;
  }
  return problems;
}
