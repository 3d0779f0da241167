/**
 * Tickets through the public API: a real Ed25519 pair, real jose, a fixed clock instead of sleeps.
 * Every refusal asserts the exact catalogue code and its close code.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT, importJWK, type JWTPayload } from 'jose';
import { TICKET_ERRORS, TicketError, type TicketErrorCode } from '../../protocol/ticket-errors.js';
import {
  MAX_TICKET_LENGTH,
  TICKET_AUDIENCE,
  TICKET_ISSUER,
  TICKET_TYP,
  TicketSigner,
  TicketVerifier,
  generateTicketKeys,
  type PublishGrant,
  type ViewGrant,
} from '../../protocol/tickets.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const T0_SECONDS = T0 / 1000;
const at = (ms: number) => () => ms;

const keys = await generateTicketKeys();
const otherKeys = await generateTicketKeys();
const signer = await TicketSigner.fromJwk(keys.privateJwk, { clock: at(T0) });
const verifier = await TicketVerifier.fromJwk(keys.publicJwk, { clock: at(T0) });

const publishGrant: PublishGrant = { role: 'publish', channel: 7, id: 'pub-1' };
const viewGrant: ViewGrant = { role: 'view', channel: 7, unit: 'unit-a', group: 3, id: 'viewer-42' };
const expectPublish = { role: 'publish', channel: 7 } as const;
const expectView = { role: 'view', channel: 7, unit: 'unit-a' } as const;

async function rejectsWith(promise: Promise<unknown>, code: TicketErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TicketError, `expected a TicketError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.closeCode, TICKET_ERRORS[code].closeCode);
    return true;
  });
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The claims our signer would produce, for hand-made tokens that differ in one respect. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    role: 'publish',
    channel: 7,
    jti: 'pub-1',
    iss: TICKET_ISSUER,
    aud: TICKET_AUDIENCE,
    iat: T0_SECONDS,
    nbf: T0_SECONDS,
    exp: T0_SECONDS + 60,
    ...overrides,
  };
}

/** Signs arbitrary claims with the real private key: the signature is good, only the content is not. */
async function signRaw(payload: JWTPayload, header: { typ?: string } = { typ: TICKET_TYP }): Promise<string> {
  const key = await importJWK(keys.privateJwk, 'EdDSA');
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(key);
}

function hs256(payload: JWTPayload, secret: Uint8Array): string {
  const signingInput = `${b64url({ alg: 'HS256', typ: TICKET_TYP })}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

describe('valid tickets', () => {
  it('a publish ticket verifies and returns its claims', async () => {
    const token = await signer.sign(publishGrant);
    const ticket = await verifier.verify(token, expectPublish);
    assert.deepEqual(ticket, { role: 'publish', channel: 7, id: 'pub-1', iat: T0_SECONDS, nbf: T0_SECONDS, exp: T0_SECONDS + 60 });
  });

  it('a view ticket verifies and returns its claims', async () => {
    const token = await signer.sign(viewGrant, { ttlSeconds: 30 });
    const ticket = await verifier.verify(token, expectView);
    assert.deepEqual(ticket, {
      role: 'view',
      channel: 7,
      unit: 'unit-a',
      group: 3,
      id: 'viewer-42',
      iat: T0_SECONDS,
      nbf: T0_SECONDS,
      exp: T0_SECONDS + 30,
    });
  });

  it('keys survive a JSON round trip (file, child process)', async () => {
    const fromFile = JSON.parse(JSON.stringify(keys)) as typeof keys;
    const token = await (await TicketSigner.fromJwk(fromFile.privateJwk, { clock: at(T0) })).sign(publishGrant);
    const ticket = await (await TicketVerifier.fromJwk(fromFile.publicJwk, { clock: at(T0) })).verify(token, expectPublish);
    assert.equal(ticket.id, 'pub-1');
  });

  it('only the grant fields are signed, not whatever else the object carries', async () => {
    const grant = { ...publishGrant, admin: true } as PublishGrant;
    const token = await signer.sign(grant);
    const [, payload = ''] = token.split('.');
    assert.equal('admin' in JSON.parse(Buffer.from(payload, 'base64url').toString()), false);
  });
});

describe('time', () => {
  it('an expired ticket is refused (exp plus the 2 s tolerance)', async () => {
    const token = await signer.sign(publishGrant, { ttlSeconds: 60 });
    const verifyAt = (ms: number) => TicketVerifier.fromJwk(keys.publicJwk, { clock: at(ms) }).then((v) => v.verify(token, expectPublish));
    await verifyAt(T0 + 61_000); // within tolerance of exp
    await rejectsWith(verifyAt(T0 + 62_000), 'TICKET_EXPIRED');
    await rejectsWith(verifyAt(T0 + 3_600_000), 'TICKET_EXPIRED');
  });

  it('a ticket whose nbf is in the future is refused until then', async () => {
    const token = await signer.sign(viewGrant, { notBeforeSeconds: 30 });
    await rejectsWith(verifier.verify(token, expectView), 'TICKET_NOT_YET_VALID');
    const later = await TicketVerifier.fromJwk(keys.publicJwk, { clock: at(T0 + 30_000) });
    const ticket = await later.verify(token, expectView);
    assert.equal(ticket.exp, T0_SECONDS + 30 + 60, 'the lifetime counts from nbf');
  });

  it('a ticket without exp is refused', async () => {
    const { exp: _exp, ...noExp } = claims();
    await rejectsWith(verifier.verify(await signRaw(noExp), expectPublish), 'TICKET_BAD_CLAIMS');
  });
});

describe('signature and algorithm', () => {
  it('a ticket signed by another key is refused', async () => {
    const forger = await TicketSigner.fromJwk(otherKeys.privateJwk, { clock: at(T0) });
    await rejectsWith(verifier.verify(await forger.sign(publishGrant), expectPublish), 'TICKET_BAD_SIGNATURE');
  });

  it('a ticket with one payload character altered is refused', async () => {
    const [header, payload = '', signature] = (await signer.sign(publishGrant)).split('.');
    const i = Math.floor(payload.length / 2);
    const altered = payload.slice(0, i) + (payload[i] === 'A' ? 'B' : 'A') + payload.slice(i + 1);
    await rejectsWith(verifier.verify(`${header}.${altered}.${signature}`, expectPublish), 'TICKET_BAD_SIGNATURE');
  });

  it('an unsecured ticket (alg none) is refused', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`;
    await rejectsWith(verifier.verify(token, expectPublish), 'TICKET_ALG_NOT_ALLOWED');
  });

  it('an HS256 ticket is refused, whatever the secret', async () => {
    await rejectsWith(verifier.verify(hs256(claims(), Buffer.from('cluster-shared-secret')), expectPublish), 'TICKET_ALG_NOT_ALLOWED');
    // the classic key-confusion attack: the public key's bytes used as the HMAC secret
    const publicBytes = Buffer.from(keys.publicJwk.x ?? '', 'base64url');
    await rejectsWith(verifier.verify(hs256(claims(), publicBytes), expectPublish), 'TICKET_ALG_NOT_ALLOWED');
  });
});

describe('binding', () => {
  it('a ticket for another channel is refused', async () => {
    const token = await signer.sign({ ...publishGrant, channel: 8 });
    await rejectsWith(verifier.verify(token, expectPublish), 'TICKET_WRONG_CHANNEL');
  });

  it('a view ticket for another unit is refused', async () => {
    const token = await signer.sign(viewGrant);
    await rejectsWith(verifier.verify(token, { ...expectView, unit: 'unit-b' }), 'TICKET_WRONG_UNIT');
  });

  it('a view ticket is refused by a verifier that does not name its unit', async () => {
    const token = await signer.sign(viewGrant);
    await rejectsWith(verifier.verify(token, { role: 'view', channel: 7 }), 'TICKET_WRONG_UNIT');
  });

  it('a viewer ticket used to publish is refused', async () => {
    const token = await signer.sign(viewGrant);
    await rejectsWith(verifier.verify(token, { role: 'publish', channel: 7, unit: 'unit-a' }), 'TICKET_WRONG_ROLE');
  });

  it('a publish ticket used to view is refused', async () => {
    const token = await signer.sign(publishGrant);
    await rejectsWith(verifier.verify(token, expectView), 'TICKET_WRONG_ROLE');
  });
});

describe('malformed input', () => {
  for (const [name, token] of [
    ['garbage', 'not a ticket'],
    ['empty', ''],
    ['three empty segments', '..'],
    ['undecodable segments', 'a.b.c'],
    ['oversized', 'a'.repeat(MAX_TICKET_LENGTH + 1)],
    ['oversized but well-formed looking', `${b64url({ alg: 'EdDSA' })}.${'A'.repeat(MAX_TICKET_LENGTH)}.sig`],
  ] as const) {
    it(`${name} is TICKET_MALFORMED`, async () => {
      await rejectsWith(verifier.verify(token, expectPublish), 'TICKET_MALFORMED');
    });
  }

  it('a non-string from an untyped caller is TICKET_MALFORMED', async () => {
    await rejectsWith(verifier.verify(undefined as unknown as string, expectPublish), 'TICKET_MALFORMED');
    await rejectsWith(verifier.verify(42 as unknown as string, expectPublish), 'TICKET_MALFORMED');
  });

  it('any string is refused with a TicketError, never anything else', async () => {
    const segment = fc.string({ unit: fc.constantFrom(...'ABCabc019-_=.+/ '.split('')), maxLength: 60 });
    const jwtLike = fc.tuple(segment, segment, segment).map((parts) => parts.join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), jwtLike), async (token) => {
        await assert.rejects(verifier.verify(token, expectPublish), TicketError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('claims', () => {
  it('a wrong issuer is refused', async () => {
    const impostor = await TicketSigner.fromJwk(keys.privateJwk, { issuer: 'someone-else', clock: at(T0) });
    await rejectsWith(verifier.verify(await impostor.sign(publishGrant), expectPublish), 'TICKET_BAD_CLAIMS');
  });

  it('a wrong audience is refused', async () => {
    await rejectsWith(verifier.verify(await signRaw(claims({ aud: 'onair-web' })), expectPublish), 'TICKET_BAD_CLAIMS');
  });

  it('another kind of JWT signed by the same key (wrong typ) is refused', async () => {
    await rejectsWith(verifier.verify(await signRaw(claims(), { typ: 'JWT' }), expectPublish), 'TICKET_BAD_CLAIMS');
    await rejectsWith(verifier.verify(await signRaw(claims(), {}), expectPublish), 'TICKET_BAD_CLAIMS');
  });

  for (const [name, overrides] of [
    ['an unknown role', { role: 'admin' }],
    ['channel 0', { channel: 0 }],
    ['a fractional channel', { channel: 7.5 }],
    ['a string channel', { channel: '7' }],
    ['a publish ticket bound to a unit', { unit: 'unit-a' }],
    ['a view ticket without a group', { role: 'view', unit: 'unit-a' }],
    ['a view ticket with a negative group', { role: 'view', unit: 'unit-a', group: -1 }],
    ['an unknown claim', { scope: 'everything' }],
    ['an empty id', { jti: '' }],
  ] as const) {
    it(`${name} is TICKET_BAD_CLAIMS even when properly signed`, async () => {
      await rejectsWith(verifier.verify(await signRaw(claims(overrides)), expectPublish), 'TICKET_BAD_CLAIMS');
    });
  }

  it('the signer refuses a grant that does not have the ticket shape', async () => {
    await rejectsWith(signer.sign({ ...publishGrant, channel: 0 }), 'TICKET_BAD_CLAIMS');
    await rejectsWith(signer.sign({ ...viewGrant, unit: '' }), 'TICKET_BAD_CLAIMS');
    await rejectsWith(signer.sign({ ...viewGrant, id: '' }), 'TICKET_BAD_CLAIMS');
  });

  it('the signer refuses lifetimes that are not short positive integers', async () => {
    await assert.rejects(signer.sign(publishGrant, { ttlSeconds: 0 }), RangeError);
    await assert.rejects(signer.sign(publishGrant, { ttlSeconds: 86_400 }), RangeError);
    await assert.rejects(signer.sign(publishGrant, { notBeforeSeconds: -1 }), RangeError);
  });
});

describe('keys', () => {
  it('generates an extractable Ed25519 pair as JWKs', () => {
    assert.equal(keys.privateJwk.kty, 'OKP');
    assert.equal(keys.privateJwk.crv, 'Ed25519');
    assert.equal(typeof keys.privateJwk.d, 'string');
    assert.equal(keys.publicJwk.d, undefined);
    assert.equal(keys.publicJwk.x, keys.privateJwk.x);
  });

  it('a verifier refuses the private key and a signer the public one', async () => {
    const configError = { name: 'ConfigError', code: 'CONFIG_ERR_INVALID' };
    await assert.rejects(TicketVerifier.fromJwk(keys.privateJwk), configError);
    await assert.rejects(TicketSigner.fromJwk(keys.publicJwk), configError);
    await assert.rejects(TicketVerifier.fromJwk({ kty: 'oct', k: 'c2VjcmV0' }), configError);
  });
});

describe('catalogue', () => {
  it('every code has a message that fits a close reason and a distinct close code in 4000–4999', () => {
    const entries = Object.entries(TICKET_ERRORS);
    assert.ok(entries.length > 0);
    for (const [code, { message, closeCode }] of entries) {
      assert.match(code, /^TICKET_[A-Z_]+$/);
      assert.ok(message.length > 0, `${code} has no message`);
      assert.ok(Buffer.byteLength(message) <= 123, `${code}'s message is too long for a WebSocket close reason`);
      assert.ok(Number.isInteger(closeCode) && closeCode >= 4000 && closeCode <= 4999, `${code} close code ${closeCode}`);
    }
    const closeCodes = entries.map(([, spec]) => spec.closeCode);
    assert.equal(new Set(closeCodes).size, closeCodes.length, 'close codes are not distinct');
  });

  it('a TicketError carries its catalogue close code and message', () => {
    const error = new TicketError('TICKET_EXPIRED', 'detail');
    assert.equal(error.closeCode, 4401);
    assert.equal(error.message, `${TICKET_ERRORS.TICKET_EXPIRED.message}: detail`);
  });
});
