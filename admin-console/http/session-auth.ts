/**
 * Sign-in and the session cookie. Operators come from `operators` ("user:scryptHash", the CSM's
 * format, protocol/password-hash.ts); an unknown user still costs one scrypt run against a dummy
 * hash, so timing does not tell which names exist.
 *
 * The cookie (`onair_admin`, path `/console`) holds only the session id, signed with
 * `cookieSecret` (@fastify/cookie): httpOnly, SameSite=Strict, Secure when `secureCookies`, no
 * Max-Age (it ends with the browser; the server ends it after `sessionIdleMs` unused).
 *
 * CSRF: every state-changing request (anything but GET/HEAD) must carry the session's token in
 * `x-csrf-token`; the page gets it from the sign-in answer or `GET /console/v1/session`. SameSite=Strict
 * already keeps other sites' requests from carrying the cookie; the token is the second wall.
 */
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { derive, hashPassword, parseOperators, parsePasswordHash, type ParsedHash } from '../../protocol/password-hash.js';
import { ConfigError } from '../../protocol/config.js';
import { timingSafeEqual } from 'node:crypto';
import { ConsoleError } from '../errors.js';
import { Sessions, type Session } from '../Sessions.js';

export const SESSION_COOKIE = 'onair_admin';
export const CSRF_HEADER = 'x-csrf-token';
const COOKIE_PATH = '/console';

export class OperatorPasswords {
  readonly #byUser = new Map<string, ParsedHash>();
  #dummy: Promise<ParsedHash> | null = null;

  constructor(spec: string) {
    for (const { user, passwordHash } of parseOperators(spec)) {
      const parsed = parsePasswordHash(passwordHash);
      if (!parsed) throw new ConfigError(`operator "${user}": password hash is not scrypt$N$r$p$salt$hash within limits`);
      if (this.#byUser.has(user)) throw new ConfigError(`operator "${user}" is listed twice`);
      this.#byUser.set(user, parsed);
    }
  }

  get count(): number {
    return this.#byUser.size;
  }

  async check(user: string, password: string): Promise<boolean> {
    const known = this.#byUser.get(user);
    const target = known ?? (await (this.#dummy ??= hashPassword(randomBytes(16).toString('hex')).then((h) => parsePasswordHash(h) as ParsedHash)));
    const candidate = await derive(password, target.salt, target.hash.length, target);
    return timingSafeEqual(candidate, target.hash) && known !== undefined;
  }
}

export interface SessionAuthOptions {
  sessions: Sessions;
  secureCookies: boolean;
}

export class SessionAuth {
  constructor(private readonly options: SessionAuthOptions) {}

  setCookie(reply: FastifyReply, session: Session): void {
    reply.setCookie(SESSION_COOKIE, session.id, { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: this.options.secureCookies, signed: true });
  }

  clearCookie(reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: this.options.secureCookies });
  }

  /** The request's live session, or null. */
  session(request: FastifyRequest): Session | null {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return null;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value ? this.options.sessions.touch(unsigned.value) : null;
  }

  /** The session, or ADMIN_ERR_UNAUTHENTICATED; for other than GET/HEAD also ADMIN_ERR_CSRF without the right token. */
  require(request: FastifyRequest): Session {
    const session = this.session(request);
    if (!session) throw new ConsoleError('ADMIN_ERR_UNAUTHENTICATED');
    if (request.method !== 'GET' && request.method !== 'HEAD' && !Sessions.csrfMatches(session, request.headers[CSRF_HEADER])) throw new ConsoleError('ADMIN_ERR_CSRF');
    return session;
  }
}
