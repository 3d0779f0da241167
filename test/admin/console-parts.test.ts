/** The console's parts without processes: chart history bounds, session expiry, the Secure cookie flag. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry, Counter } from 'prom-client';
import { CsmAdmin } from '../../admin-console/CsmAdmin.js';
import { History } from '../../admin-console/History.js';
import { buildConsoleHttp } from '../../admin-console/http/buildConsoleHttp.js';
import { OperatorPasswords } from '../../admin-console/http/session-auth.js';
import { LiveFeed } from '../../admin-console/LiveFeed.js';
import { Sessions } from '../../admin-console/Sessions.js';
import { actorFor } from '../../csm/http/admin-routes.js';
import { createLogger } from '../../protocol/logger.js';
import { hashPassword } from '../../protocol/password-hash.js';

describe('admin console parts', () => {
  it('History keeps one point per step for the span, per unit and cluster-wide, and forgets silent units', () => {
    const history = new History(60_000, 5000);
    for (let t = 0; t < 300_000; t += 1000) history.record(t, [{ id: 'u1', viewers: t / 1000, egressBps: 8 }, ...(t < 100_000 ? [{ id: 'u2', viewers: 1, egressBps: 2 }] : [])]);
    const dump = history.dump();
    assert.equal(dump.cluster.length, 12);
    assert.deepEqual(dump.cluster.map((p) => p.at), Array.from({ length: 12 }, (_, i) => 240_000 + i * 5000));
    assert.equal(dump.cluster.at(-1)!.viewers, 299, 'the newest sample of a step wins');
    assert.equal(dump.units.u1!.length, 12);
    assert.equal(dump.units.u2, undefined, 'a unit silent for a whole span is dropped');
  });

  it('Sessions expire when idle and stay within their bound', () => {
    let now = 0;
    const sessions = new Sessions(1000, 3, () => now);
    const a = sessions.create('alice');
    now = 900;
    assert.equal(sessions.touch(a.id)?.user, 'alice');
    now = 1800;
    assert.ok(sessions.touch(a.id), 'touched at 900: still live');
    now = 2801;
    assert.equal(sessions.touch(a.id), null);
    const made = [1, 2, 3, 4].map(() => sessions.create('bob'));
    assert.equal(sessions.size, 3);
    assert.equal(sessions.touch(made[0]!.id), null, 'the least recently used went first');
    assert.ok(!Sessions.csrfMatches(made[1]!, made[2]!.csrfToken));
    assert.ok(Sessions.csrfMatches(made[1]!, made[1]!.csrfToken));
  });

  it('the CSM takes X-OnAir-Actor only from a delegate, and only a plain name', () => {
    assert.equal(actorFor('console', 'alice', ['console']), 'alice via console');
    assert.equal(actorFor('op', 'alice', ['console']), 'op');
    assert.equal(actorFor('console', 'alice\nforged', ['console']), 'console');
    assert.equal(actorFor('console', undefined, ['console']), 'console');
  });

  it('marks the cookie Secure with secureCookies', async () => {
    const logger = createLogger('test', 'silent');
    const csm = new CsmAdmin({ baseUrl: 'http://127.0.0.1:9', user: 'x', password: 'y', timeoutMs: 200 }, logger);
    const feed = new LiveFeed(csm, { intervalMs: 1000, historyMs: 60_000, historyStepMs: 5000, maxClients: 1, logger });
    const registry = new Registry();
    const app = await buildConsoleHttp({
      csm,
      csmUrl: 'http://127.0.0.1:9',
      feed,
      sessions: new Sessions(60_000, 10),
      passwords: new OperatorPasswords(`alice:${await hashPassword('pw')}`),
      cookieSecret: 'a-secret-for-this-test',
      secureCookies: true,
      signInPerMinute: 10,
      rateLimitPerMinute: 100,
      metrics: registry,
      actions: new Counter({ name: 'a', help: 'a', labelNames: ['action', 'outcome'] as const, registers: [registry] }),
      health: () => ({ ok: true, consoleId: 't', csm: 'unreachable', lastPollAt: 0, sessions: 0, liveClients: 0 }),
      logger,
    });
    try {
      const answer = await app.inject({ method: 'POST', url: '/console/v1/session', payload: { user: 'alice', password: 'pw' } });
      assert.equal(answer.statusCode, 200);
      const setCookie = String(answer.headers['set-cookie']);
      assert.match(setCookie, /; Secure/);
      assert.match(setCookie, /; HttpOnly/);
      assert.match(setCookie, /; SameSite=Strict/);
      const cookie = setCookie.split(';')[0]!;
      // The CSM is unreachable: an action says so with the console's code, after the session and CSRF checks.
      const csrf = (answer.json() as { csrfToken: string }).csrfToken;
      const action = await app.inject({ method: 'POST', url: '/console/v1/units/u1/drain', headers: { cookie, 'x-csrf-token': csrf }, payload: {} });
      assert.equal(action.statusCode, 503);
      assert.equal((action.json() as { code: string }).code, 'ADMIN_ERR_CSM_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });
});
