/**
 * Operator credentials for the admin API: HTTP Basic, checked against scrypt hashes from the
 * configuration ("user:scrypt$N$r$p$salt$hash" entries; `onair csm --hash-password` makes them).
 *
 * - Hashes are `scrypt$N$r$p$saltB64$hashB64`, with a fresh 16-byte salt each; the cost parameters
 *   travel in the string so they can be raised later without breaking stored hashes.
 * - The comparison is constant-time, and an unknown user still costs one scrypt run against a dummy
 *   hash, so response time does not tell which user names exist.
 * - scrypt is deliberately slow (~50 ms, 16 MiB), and the admin console polls. A successful check is
 *   remembered for a minute under an HMAC of the exact Authorization header, keyed by a per-process
 *   random secret; only valid credentials enter the cache, so it holds at most one entry per
 *   operator password in use and cannot be grown by an attacker.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ConfigError } from '../../protocol/config.js';

const SCHEME = 'scrypt';
const DEFAULTS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** bounds on parameters read back from a stored hash, so a bad config line cannot make a check take minutes */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
/** Basic credentials longer than this are refused before any hashing */
const MAX_AUTHORIZATION_LENGTH = 1024;
const CACHE_TTL_MS = 60_000;
const MAX_CACHE_ENTRIES = 64;

export const OPERATOR_REALM = 'onair-admin';

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function derive(password: string, salt: Buffer, length: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem must cover 128·N·r bytes (plus slack), or node refuses the larger settings.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new `scrypt$N$r$p$saltB64$hashB64` hash of `password`, with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, DEFAULTS);
  return [SCHEME, DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

const isPowerOfTwo = (n: number): boolean => n > 1 && (n & (n - 1)) === 0;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function parsePasswordHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return null;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^[0-9]{1,8}$/.test(x ?? '') ? Number(x) : NaN)) as [number, number, number];
  if (!isPowerOfTwo(N) || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return null;
  const [saltText, hashText] = [parts[4] ?? '', parts[5] ?? ''];
  if (!BASE64.test(saltText) || !BASE64.test(hashText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

/** True when `password` matches `stored`; a malformed stored hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

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
