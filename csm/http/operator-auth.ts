/**
 * Operator credentials for the admin API: HTTP Basic, checked against scrypt hashes from the
 * configuration ("user:scrypt$N$r$p$salt$hash" entries; `onair csm --hash-password` makes them).
 *
 * - Hashes are `scrypt$N$r$p$saltB64$hashB64` (protocol/password-hash.ts, shared with the admin console).
 * - The comparison is constant-time, and an unknown user still costs one scrypt run against a dummy
 *   hash, so response time does not tell which user names exist.
 * - scrypt is deliberately slow (~50 ms, 16 MiB), and the admin console polls. A successful check is
 *   remembered for a minute under an HMAC of the exact Authorization header, keyed by a per-process
 *   random secret; only valid credentials enter the cache, so it holds at most one entry per
 *   operator password in use and cannot be grown by an attacker.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../protocol/config.js';
import { derive, hashPassword, parsePasswordHash, type ParsedHash } from '../../protocol/password-hash.js';

export { hashPassword, parsePasswordHash, verifyPassword } from '../../protocol/password-hash.js';

/** Basic credentials longer than this are refused before any hashing */
const MAX_AUTHORIZATION_LENGTH = 1024;
const CACHE_TTL_MS = 60_000;
const MAX_CACHE_ENTRIES = 64;

export const OPERATOR_REALM = 'onair-admin';

/** `Basic base64(user:password)` → its parts, or null. The scheme name is case-insensitive (RFC 9110). */
export function parseBasicAuthorization(header: string | undefined): { user: string; password: string } | null {
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export interface Operator {
  user: string;
  passwordHash: string;
}

export interface OperatorAuthenticator {
  /** The operator's user name when the Authorization header holds valid credentials, else null. */
  authenticate(authorization: string | undefined): Promise<string | null>;
}

export function createOperatorAuthenticator(operators: readonly Operator[], now: () => number = Date.now): OperatorAuthenticator {
  const byUser = new Map<string, ParsedHash>();
  for (const { user, passwordHash } of operators) {
    const parsed = parsePasswordHash(passwordHash);
    // Refuse to start with a hash nobody can log in with: it is a configuration mistake, not a lockout.
    if (!parsed) throw new ConfigError(`operator "${user}": password hash is not scrypt$N$r$p$salt$hash within limits`);
    if (byUser.has(user)) throw new ConfigError(`operator "${user}" is listed twice`);
    byUser.set(user, parsed);
  }
  const cacheKey = randomBytes(32);
  const verified = new Map<string, { user: string; until: number }>();
  let dummy: Promise<ParsedHash> | null = null;
  const dummyHash = (): Promise<ParsedHash> => (dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parsePasswordHash(h) as ParsedHash));

  return {
    async authenticate(authorization) {
      const credentials = parseBasicAuthorization(authorization);
      if (!credentials) return null;
      const key = createHmac('sha256', cacheKey).update(authorization as string).digest('base64');
      const hit = verified.get(key);
      if (hit && hit.until > now()) return hit.user;
      if (hit) verified.delete(key);

      const known = byUser.get(credentials.user);
      const target = known ?? (await dummyHash());
      const candidate = await derive(credentials.password, target.salt, target.hash.length, target);
      if (!timingSafeEqual(candidate, target.hash) || !known) return null;

      if (verified.size >= MAX_CACHE_ENTRIES) verified.delete(verified.keys().next().value as string);
      verified.set(key, { user: credentials.user, until: now() + CACHE_TTL_MS });
      return credentials.user;
    },
  };
}
