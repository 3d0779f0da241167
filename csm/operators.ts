import { ConfigError } from '../protocol/config.js';

/** Operators come from configuration as "user:scryptHash" entries, comma-separated (README: admin API). */
export function parseOperators(spec: string): { user: string; passwordHash: string }[] {
  if (!spec.trim()) return [];
  return spec.split(',').map((entry) => {
    const at = entry.indexOf(':');
    const user = entry.slice(0, at).trim();
    const passwordHash = entry.slice(at + 1).trim();
    if (at <= 0 || !user || !passwordHash.startsWith('scrypt$')) throw new ConfigError(`operators: "${entry.slice(0, 40)}" is not user:scrypt$… (make one with \`onair csm --hash-password\`)`);
    return { user, passwordHash };
  });
}
