/**
 * Signed-in operators, in memory: a session id (the cookie's value, 32 random bytes) → the operator's
 * name and a CSRF token of its own (32 random bytes, sent by the page in `x-csrf-token`). A session
 * unused for `idleMs` is gone; at most `max` live at once (the least recently used is dropped first),
 * so sign-ins cannot grow memory. Sessions end with the process: operators sign in again after a
 * restart.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  id: string;
  user: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export class Sessions {
  /** insertion order is use order: a touched session is moved to the end */
  readonly #byId = new Map<string, Session>();

  constructor(
    private readonly idleMs: number,
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#byId.size;
  }

  create(user: string): Session {
    this.#sweep();
    while (this.#byId.size >= this.max) this.#byId.delete(this.#byId.keys().next().value as string);
    const at = this.now();
    const session: Session = { id: randomBytes(32).toString('base64url'), user, csrfToken: randomBytes(32).toString('base64url'), createdAt: at, lastSeenAt: at };
    this.#byId.set(session.id, session);
    return session;
  }

  /** The live session with this id, touched; null when unknown or idle too long (then it is removed). */
  touch(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.#byId.get(id);
    if (!session) return null;
    const at = this.now();
    this.#byId.delete(id);
    if (at - session.lastSeenAt > this.idleMs) return null;
    session.lastSeenAt = at;
    this.#byId.set(id, session);
    return session;
  }

  /** Whether `token` is this session's CSRF token (constant-time). */
  static csrfMatches(session: Session, token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const a = Buffer.from(token);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  delete(id: string): void {
    this.#byId.delete(id);
  }

  #sweep(): void {
    const at = this.now();
    for (const [id, session] of this.#byId) if (at - session.lastSeenAt > this.idleMs) this.#byId.delete(id);
  }
}
