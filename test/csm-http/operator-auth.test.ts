import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOperatorAuthenticator, hashPassword, parseBasicAuthorization, verifyPassword } from '../../csm/http/operator-auth.js';
import { bearerTokenCheck } from '../../csm/http/service-routes.js';
import { basic } from './harness.js';

describe('operator credentials', () => {
  it('hashes with scrypt and a random salt in the scrypt$N$r$p$salt$hash format', async () => {
    const [one, two] = await Promise.all([hashPassword('pw'), hashPassword('pw')]);
    assert.match(one, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.notEqual(one, two, 'a fresh salt each time');
    assert.equal(await verifyPassword('pw', one), true);
    assert.equal(await verifyPassword('pw', two), true);
    assert.equal(await verifyPassword('pW', one), false);
    assert.equal(await verifyPassword('', one), false);
  });

  it('matches nothing against a malformed or out-of-bounds stored hash', async () => {
    const good = await hashPassword('pw');
    const [, , , , salt, hash] = good.split('$');
    for (const stored of ['', 'pw', `bcrypt$16384$8$1$${salt}$${hash}`, `scrypt$1000$8$1$${salt}$${hash}`, `scrypt$${2 ** 22}$8$1$${salt}$${hash}`, `scrypt$16384$8$1$${salt}`, `scrypt$16384$8$1$!!$${hash}`, `scrypt$16384$999$1$${salt}$${hash}`]) {
      assert.equal(await verifyPassword('pw', stored), false, stored);
    }
  });

  it('parses Basic credentials (passwords may contain colons) and refuses anything else', () => {
    assert.deepEqual(parseBasicAuthorization(basic('alice', 'a:b:c')), { user: 'alice', password: 'a:b:c' });
    assert.deepEqual(parseBasicAuthorization(`basic ${Buffer.from('bob:').toString('base64')}`), { user: 'bob', password: '' });
    for (const header of [undefined, '', 'Basic', 'Basic ', `Bearer ${Buffer.from('a:b').toString('base64')}`, `Basic ${Buffer.from(':pw').toString('base64')}`, `Basic ${'A'.repeat(2000)}`]) {
      assert.equal(parseBasicAuthorization(header), null, String(header));
    }
  });

  it('authenticates configured operators only, and refuses bad configuration at start', async () => {
    const operators = [
      { user: 'alice', passwordHash: await hashPassword('one') },
      { user: 'carol', passwordHash: await hashPassword('two') },
    ];
    const auth = createOperatorAuthenticator(operators);
    assert.equal(await auth.authenticate(basic('alice', 'one')), 'alice');
    assert.equal(await auth.authenticate(basic('alice', 'one')), 'alice', 'again, from the cache');
    assert.equal(await auth.authenticate(basic('carol', 'two')), 'carol');
    assert.equal(await auth.authenticate(basic('alice', 'two')), null);
    assert.equal(await auth.authenticate(basic('dave', 'one')), null);
    assert.equal(await auth.authenticate(undefined), null);

    assert.throws(() => createOperatorAuthenticator([{ user: 'x', passwordHash: 'plain' }]), /password hash/);
    assert.throws(() => createOperatorAuthenticator([operators[0]!, operators[0]!]), /twice/);
    assert.equal(await createOperatorAuthenticator([]).authenticate(basic('alice', 'one')), null);
  });
});

describe('service token', () => {
  it('accepts exactly "Bearer <token>"', () => {
    const check = bearerTokenCheck('tok');
    assert.equal(check('Bearer tok'), true);
    assert.equal(check('bearer   tok'), true);
    for (const header of [undefined, '', 'tok', 'Bearer', 'Bearer to', 'Bearer tokk', 'Basic tok', 'Bearer tok extra']) assert.equal(check(header), false, String(header));
  });
});
