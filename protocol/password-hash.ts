/**
 * Operator password hashes, shared by the CSM's admin API (csm/http/operator-auth.ts) and the admin
 * console's sign-in (admin-console/): `scrypt$N$r$p$saltB64$hashB64`, with a fresh 16-byte salt each;
 * the cost parameters travel in the string so they can be raised later without breaking stored hashes.
 * Operators are configured as "user:hash" entries, comma-separated (`onair csm --hash-password`).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ConfigError } from './config.js';

const SCHEME = 'scrypt';
const DEFAULTS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** bounds on parameters read back from a stored hash, so a bad config line cannot make a check take minutes */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export function derive(password: string, salt: Buffer, length: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
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
