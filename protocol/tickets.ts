/**
 * Tickets: short-lived grants that the CSM signs and a streaming unit verifies offline, with the
 * CSM's public key only, so a unit keeps admitting publishers and viewers while the CSM is away.
 *
 * A ticket is a JWT signed with EdDSA over Ed25519 (jose). The verifier accepts that algorithm and
 * nothing else, requires an explicit `typ` so that no other JWT the CSM might sign can pass as a
 * ticket, and checks the claim shape strictly after the signature (unknown claims are refused: the
 * only producer is our own signer). A publish ticket binds to one channel; a view ticket to one
 * channel, one unit and one group.
 *
 * Replay inside the lifetime is not prevented here: tickets live for a minute by default, and `id`
 * (the `jti`) lets a unit refuse a second connection with the same id if it wants to.
 */
import { SignJWT, errors, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ConfigError } from './config.js';
import { TicketError, type TicketErrorCode } from './ticket-errors.js';

export const TICKET_ISSUER = 'onair-csm';
export const TICKET_AUDIENCE = 'onair-unit';
/** explicit typing (RFC 8725 §3.11): a JWT of another kind signed by the same key is not a ticket */
export const TICKET_TYP = 'onair-ticket+jwt';
/** far above a real ticket (~400 chars); refusing longer input before parsing bounds the work */
export const MAX_TICKET_LENGTH = 4096;
export const DEFAULT_TICKET_TTL_SECONDS = 60;
/** a ticket only has to last until the connection is made; anything longer is a misconfiguration */
export const MAX_TICKET_TTL_SECONDS = 3600;
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 2;
const MAX_CLOCK_TOLERANCE_SECONDS = 300;
const ALGORITHM = 'EdDSA';

export interface PublishGrant {
  role: 'publish';
  channel: number;
  id: string;
}
export interface ViewGrant {
  role: 'view';
  channel: number;
  unit: string;
  group: number;
  /** the viewer id */
  id: string;
}
export type Grant = PublishGrant | ViewGrant;
export type TicketRole = Grant['role'];

/** NumericDates in seconds since the epoch, as in the JWT */
export interface TicketTimes {
  iat: number;
  nbf: number;
  exp: number;
}
export type PublishTicket = PublishGrant & TicketTimes;
export type ViewTicket = ViewGrant & TicketTimes;
export type Ticket = PublishTicket | ViewTicket;

export interface TicketExpectation {
  role: TicketRole;
  channel: number;
  /** this unit's id; required to accept a view ticket */
  unit?: string;
}

export interface TicketKeyPair {
  privateJwk: JWK;
  publicJwk: JWK;
}

// Same bounds as the control protocol's ids, so that every id a ticket can carry is one the CSM can name.
const ChannelId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
const UnitId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const GroupIndex = Type.Integer({ minimum: 0, maximum: 9999 });
const TicketId = Type.String({ minLength: 1, maxLength: 64 });
const NumericDate = Type.Integer({ minimum: 0 });
const registered = {
  iss: Type.String({ maxLength: 64 }),
  aud: Type.String({ maxLength: 64 }),
  jti: TicketId,
  iat: NumericDate,
  nbf: NumericDate,
  exp: NumericDate,
};
const strict = { additionalProperties: false } as const;
const TicketClaimsSchema = Type.Union([
  Type.Object({ role: Type.Literal('publish'), channel: ChannelId, ...registered }, strict),
  Type.Object({ role: Type.Literal('view'), channel: ChannelId, unit: UnitId, group: GroupIndex, ...registered }, strict),
]);
type TicketClaims = Static<typeof TicketClaimsSchema>;

/** Compiled per signer/verifier rather than at import, so importing this module does no work. */
function compileClaimsCheck(): (value: unknown) => string | null {
  const validator = Compile(TicketClaimsSchema);
  return (value) => {
    if (validator.Check(value)) return null;
    const first = validator.Errors(value)[0];
    return first ? `${first.instancePath || '/'} ${first.message}` : 'invalid claims';
  };
}

/** A fresh Ed25519 pair, exported as JWKs so the CSM can write them to a file or hand them to a child. */
export async function generateTicketKeys(): Promise<TicketKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true });
  const [privateJwk, publicJwk] = await Promise.all([exportJWK(privateKey), exportJWK(publicKey)]);
  return { privateJwk, publicJwk };
}

async function importTicketKey(jwk: JWK, kind: 'private' | 'public'): Promise<CryptoKey> {
  if (jwk === null || typeof jwk !== 'object' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new ConfigError(`ticket ${kind} key: expected an Ed25519 JWK (kty "OKP", crv "Ed25519")`);
  }
  // A unit must never hold the signing key: refuse a private JWK where a public one is expected.
  if ((kind === 'private') !== (typeof jwk.d === 'string')) {
    throw new ConfigError(`ticket ${kind} key: the JWK is not a ${kind} key`);
  }
  try {
    // Not extractable once imported: the key stays in this process whatever else gets hold of the object.
    return (await importJWK(jwk, ALGORITHM, { extractable: false })) as CryptoKey;
  } catch (error) {
    throw new ConfigError(`ticket ${kind} key: ${(error as Error).message}`);
  }
}

/** Integer seconds in [min, max]; `fail` picks the error, as a bad option can come from config or from a call. */
function checkSeconds(name: string, value: number, min: number, max: number, fail: (message: string) => Error): number {
  if (!Number.isInteger(value) || value < min || value > max) throw fail(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}
const configError = (message: string) => new ConfigError(message);
const argumentError = (message: string) => new RangeError(message);

export interface TicketSignerOptions {
  issuer?: string;
  ttlSeconds?: number;
  /** milliseconds since the epoch; injectable for tests */
  clock?: () => number;
}

export class TicketSigner {
  readonly #key: CryptoKey;
  readonly #issuer: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;
  readonly #check: (value: unknown) => string | null;

  private constructor(key: CryptoKey, opts: TicketSignerOptions) {
    this.#key = key;
    this.#issuer = opts.issuer ?? TICKET_ISSUER;
    this.#ttlSeconds = checkSeconds('ttlSeconds', opts.ttlSeconds ?? DEFAULT_TICKET_TTL_SECONDS, 1, MAX_TICKET_TTL_SECONDS, configError);
    this.#clock = opts.clock ?? Date.now;
    this.#check = compileClaimsCheck();
  }

  /** Imports the key once; every `sign()` reuses it. */
  static async fromJwk(privateJwk: JWK, opts: TicketSignerOptions = {}): Promise<TicketSigner> {
    return new TicketSigner(await importTicketKey(privateJwk, 'private'), opts);
  }

  /**
   * Signs a grant. The ticket becomes valid `notBeforeSeconds` from now (default at once) and lasts
   * `ttlSeconds` from then. A grant that does not have the ticket shape is refused with
   * TICKET_BAD_CLAIMS: signing it would only produce a ticket every unit refuses.
   */
  async sign(grant: Grant, opts: { ttlSeconds?: number; notBeforeSeconds?: number } = {}): Promise<string> {
    const ttl = checkSeconds('ttlSeconds', opts.ttlSeconds ?? this.#ttlSeconds, 1, MAX_TICKET_TTL_SECONDS, argumentError);
    const notBefore = checkSeconds('notBeforeSeconds', opts.notBeforeSeconds ?? 0, 0, MAX_TICKET_TTL_SECONDS, argumentError);
    const iat = Math.floor(this.#clock() / 1000);
    const nbf = iat + notBefore;
    // Copy the grant field by field: whatever else the caller's object carries is not signed.
    const bound =
      grant.role === 'view'
        ? { role: grant.role, channel: grant.channel, unit: grant.unit, group: grant.group }
        : { role: grant.role, channel: grant.channel };
    const claims = { ...bound, iss: this.#issuer, aud: TICKET_AUDIENCE, jti: grant.id, iat, nbf, exp: nbf + ttl };
    const problem = this.#check(claims);
    if (problem) throw new TicketError('TICKET_BAD_CLAIMS', `refusing to sign: ${problem}`);
    return new SignJWT(claims).setProtectedHeader({ alg: ALGORITHM, typ: TICKET_TYP }).sign(this.#key);
  }
}

export interface TicketVerifierOptions {
  /** expected `iss`; must match the signer's */
  issuer?: string;
  /** milliseconds since the epoch; injectable for tests */
  clock?: () => number;
  /** skew allowed between the CSM's clock and this unit's, applied to `nbf` and `exp` */
  clockToleranceSeconds?: number;
}

export class TicketVerifier {
  readonly #key: CryptoKey;
  readonly #issuer: string;
  readonly #clock: () => number;
  readonly #toleranceSeconds: number;
  readonly #check: (value: unknown) => string | null;

  private constructor(key: CryptoKey, opts: TicketVerifierOptions) {
    this.#key = key;
    this.#issuer = opts.issuer ?? TICKET_ISSUER;
    this.#clock = opts.clock ?? Date.now;
    this.#toleranceSeconds = checkSeconds(
      'clockToleranceSeconds',
      opts.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
      0,
      MAX_CLOCK_TOLERANCE_SECONDS,
      configError,
    );
    this.#check = compileClaimsCheck();
  }

  static async fromJwk(publicJwk: JWK, opts: TicketVerifierOptions = {}): Promise<TicketVerifier> {
    return new TicketVerifier(await importTicketKey(publicJwk, 'public'), opts);
  }

  /**
   * Resolves with the verified claims, or rejects with a TicketError whatever the input: the data
   * plane passes client bytes straight in and closes with the error's `closeCode`.
   */
  verify(token: string, expect: TicketExpectation & { role: 'publish' }): Promise<PublishTicket>;
  verify(token: string, expect: TicketExpectation & { role: 'view' }): Promise<ViewTicket>;
  verify(token: string, expect: TicketExpectation): Promise<Ticket>;
  async verify(token: string, expect: TicketExpectation): Promise<Ticket> {
    if (typeof token !== 'string' || token.length === 0) throw new TicketError('TICKET_MALFORMED', 'empty');
    if (token.length > MAX_TICKET_LENGTH) throw new TicketError('TICKET_MALFORMED', `longer than ${MAX_TICKET_LENGTH} characters`);
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        typ: TICKET_TYP,
        issuer: this.#issuer,
        audience: TICKET_AUDIENCE,
        requiredClaims: ['jti', 'iat', 'nbf', 'exp'],
        clockTolerance: this.#toleranceSeconds,
        currentDate: new Date(this.#clock()),
      }));
    } catch (error) {
      throw fromJoseError(error);
    }
    const problem = this.#check(payload);
    if (problem) throw new TicketError('TICKET_BAD_CLAIMS', problem);
    return matchExpectation(payload as TicketClaims, expect);
  }
}

function matchExpectation(claims: TicketClaims, expect: TicketExpectation): Ticket {
  if (claims.role !== expect.role) throw new TicketError('TICKET_WRONG_ROLE', `a ${claims.role} ticket, ${expect.role} expected`);
  if (claims.channel !== expect.channel) {
    throw new TicketError('TICKET_WRONG_CHANNEL', `channel ${claims.channel}, ${expect.channel} expected`);
  }
  const times = { iat: claims.iat, nbf: claims.nbf, exp: claims.exp };
  if (claims.role === 'publish') return { role: 'publish', channel: claims.channel, id: claims.jti, ...times };
  // A verifier that does not say which unit it is cannot accept a view ticket: fail closed.
  if (expect.unit === undefined || claims.unit !== expect.unit) {
    throw new TicketError('TICKET_WRONG_UNIT', `unit ${claims.unit}, ${expect.unit ?? 'none'} expected`);
  }
  return { role: 'view', channel: claims.channel, unit: claims.unit, group: claims.group, id: claims.jti, ...times };
}

/** jose's stable error codes → ours. Anything unexpected is still a refusal, never an escape. */
const JOSE_CODES: Readonly<Record<string, TicketErrorCode>> = {
  ERR_JOSE_ALG_NOT_ALLOWED: 'TICKET_ALG_NOT_ALLOWED',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'TICKET_BAD_SIGNATURE',
  ERR_JWT_EXPIRED: 'TICKET_EXPIRED',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'TICKET_BAD_CLAIMS',
  ERR_JWS_INVALID: 'TICKET_MALFORMED',
  ERR_JWT_INVALID: 'TICKET_MALFORMED',
  // an unrecognised "crit" header extension
  ERR_JOSE_NOT_SUPPORTED: 'TICKET_MALFORMED',
};

function fromJoseError(error: unknown): TicketError {
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf' && error.reason === 'check_failed') {
    return new TicketError('TICKET_NOT_YET_VALID', undefined, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  const code = error instanceof errors.JOSEError ? JOSE_CODES[error.code] : undefined;
  return new TicketError(code ?? 'TICKET_MALFORMED', detail, { cause: error });
}
