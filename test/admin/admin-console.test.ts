/**
 * The admin console's server as a real process (`onair admin`) in front of a real CSM with two real
 * units: sign-in, the cookie, CSRF and unauthenticated refusals, the live feed's snapshot of the
 * cluster, an evacuation through the console moving a channel (seen on the feed), and the CSM's event
 * log naming the signed-in operator. The CSM lists the console's account in `actorDelegates`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPassword } from '../../protocol/password-hash.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { startOnair, type OnairProcess } from '../support/processes.js';
import { http } from '../web/web-process.js';
import { FeedReader } from './feed-reader.js';

const ADMIN_READY = /^admin (\S+) ready http=(\S+) csm=(\S+)/;
const OPERATOR_PASSWORD = 'test-operator-password';
const CONSOLE_CSM_PASSWORD = 'console-account-password';
const ALICE_PASSWORD = 'alice-signs-in-here';

interface SignedIn {
  cookie: string;
  csrfToken: string;
}
interface LiveUnit {
  id: string;
  state: string;
  groupsPerUnit: number;
  groups: ({ channelId: number } | null)[];
}
interface LiveChannel {
  id: number;
  root: { unitId: string };
}
interface LiveState {
  csm: string;
  units: LiveUnit[];
  channels: LiveChannel[];
}

describe('admin console server', () => {
  let cluster: ProcessCluster;
  let admin: OnairProcess;
  let base: string;
  let kept: SignedIn;

  before(async () => {
    const [opHash, consoleHash, aliceHash] = await Promise.all([hashPassword(OPERATOR_PASSWORD), hashPassword(CONSOLE_CSM_PASSWORD), hashPassword(ALICE_PASSWORD)]);
    cluster = await startProcessCluster(['u1', 'u2'], {
      csmEnv: { ONAIR_CSM_OPERATORS: `op:${opHash},console:${consoleHash}`, ONAIR_CSM_ACTOR_DELEGATES: 'console' },
    });
    admin = await startOnair(
      ['admin', '--port', '0', '--csm', cluster.api],
      {
        ONAIR_ADMIN_OPERATORS: `alice:${aliceHash}`,
        ONAIR_ADMIN_CSM_USER: 'console',
        ONAIR_ADMIN_CSM_PASSWORD: CONSOLE_CSM_PASSWORD,
        ONAIR_ADMIN_POLL_INTERVAL_MS: '200',
        ONAIR_ADMIN_SIGN_IN_PER_MINUTE: '12',
        ONAIR_ADMIN_LOG_LEVEL: 'warn',
      },
      ADMIN_READY,
    );
    base = `${admin.ready[2]!}/console/v1`;
  });

  after(async () => {
    await admin?.stop();
    await cluster?.stop();
  });

  const signIn = async (): Promise<SignedIn> => {
    const answer = await http<{ user: string; csrfToken: string }>('POST', `${base}/session`, { user: 'alice', password: ALICE_PASSWORD });
    assert.equal(answer.status, 200, answer.text);
    const cookie = (answer.headers.getSetCookie()[0] ?? '').split(';')[0]!;
    return { cookie, csrfToken: answer.body.csrfToken };
  };

  it('refuses a wrong password and an unknown user without a cookie', async () => {
    for (const body of [{ user: 'alice', password: 'wrong' }, { user: 'mallory', password: ALICE_PASSWORD }]) {
      const answer = await http<{ code: string }>('POST', `${base}/session`, body);
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 'ADMIN_ERR_BAD_CREDENTIALS');
      assert.deepEqual(answer.headers.getSetCookie(), []);
    }
  });

  it('signs in with the right password: a signed httpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const answer = await http<{ user: string; csrfToken: string }>('POST', `${base}/session`, { user: 'alice', password: ALICE_PASSWORD });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.user, 'alice');
    assert.ok(answer.body.csrfToken.length >= 40);
    const [setCookie] = answer.headers.getSetCookie();
    assert.ok(setCookie, 'a session cookie');
    const attributes = setCookie.split(';').map((a) => a.trim().toLowerCase());
    assert.match(setCookie, /^onair_admin=[^.;]+\.[^;]+;/, 'signed: value.signature');
    assert.ok(attributes.includes('httponly'));
    assert.ok(attributes.includes('samesite=strict'));
    assert.ok(attributes.includes('path=/console'));
    assert.ok(!attributes.includes('secure'), 'not Secure unless secureCookies');
    const cookie = setCookie.split(';')[0]!;
    const who = await http<{ user: string; csrfToken: string }>('GET', `${base}/session`, undefined, { cookie });
    assert.deepEqual(who.body, { user: 'alice', csrfToken: answer.body.csrfToken });
  });

  it('refuses every console route without a session, and with a tampered cookie', async () => {
    const { cookie } = await signIn();
    const tampered = `${cookie.slice(0, -3)}xyz`;
    const routes: [string, string][] = [
      ['GET', '/session'],
      ['DELETE', '/session'],
      ['GET', '/state'],
      ['GET', '/live'],
      ['POST', '/units/u1/evacuate'],
      ['POST', '/units/u1/drain'],
      ['POST', '/channels/1/expand'],
      ['POST', '/channels/1/close'],
    ];
    for (const headers of [{}, { cookie: tampered }] as Record<string, string>[]) {
      for (const [method, path] of routes) {
        const answer = await http<{ code: string }>(method, `${base}${path}`, method === 'POST' ? { groups: 1 } : undefined, headers);
        assert.equal(answer.status, 401, `${method} ${path}`);
        assert.equal(answer.body.code, 'ADMIN_ERR_UNAUTHENTICATED', `${method} ${path}`);
      }
    }
  });

  it('refuses a state change without the CSRF token, or with another session\'s', async () => {
    const mine = await signIn();
    kept = mine;
    const other = await signIn();
    for (const headers of [{ cookie: mine.cookie }, { cookie: mine.cookie, 'x-csrf-token': other.csrfToken }] as Record<string, string>[]) {
      const answer = await http<{ code: string }>('POST', `${base}/units/u1/drain`, {}, headers);
      assert.equal(answer.status, 403);
      assert.equal(answer.body.code, 'ADMIN_ERR_CSRF');
    }
    const units = await cluster.admin<{ id: string; state: string }[]>('GET', '/admin/v1/units');
    assert.equal(units.body.find((u) => u.id === 'u1')?.state, 'up', 'nothing was drained');
  });

  it('feeds a snapshot of the real units and channels, and an evacuation through the console moves the channel', async () => {
    const opened = await cluster.service<{ channelId: number }>('POST', '/api/v1/channels', { title: 'console test', broadcaster: 'bob' });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const channelId = opened.body.channelId;
    const session = await signIn();
    const feed = await FeedReader.open(`${base}/live`, { cookie: session.cookie });
    try {
      assert.equal(feed.status, 200);
      assert.match(feed.contentType, /^text\/event-stream/);
      const snapshot = await feed.next<{ state: LiveState; history: { stepMs: number; cluster: unknown[] } }>('snapshot');
      assert.equal(snapshot.history.stepMs, 5000);
      const withChannel = snapshot.state.channels.some((c) => c.id === channelId)
        ? snapshot.state
        : await feed.next<LiveState>('state', (s) => s.channels.some((c) => c.id === channelId));
      assert.deepEqual(withChannel.units.map((u) => u.id).sort(), ['u1', 'u2']);
      const from = withChannel.channels.find((c) => c.id === channelId)!.root.unitId;
      const fromUnit = withChannel.units.find((u) => u.id === from)!;
      assert.equal(fromUnit.groups.length, fromUnit.groupsPerUnit, 'the group grid has a cell per group');
      assert.ok(fromUnit.groups.some((g) => g?.channelId === channelId), 'the root group is in its unit\'s grid');

      const mark = feed.events.length;
      const evacuated = await http<{ moved: number[] }>('POST', `${base}/units/${from}/evacuate`, {}, { cookie: session.cookie, 'x-csrf-token': session.csrfToken });
      assert.equal(evacuated.status, 200, evacuated.text);
      assert.deepEqual(evacuated.body.moved, [channelId]);
      const moved = await feed.next<LiveState>(
        'state',
        (s) => s.channels.find((c) => c.id === channelId)?.root.unitId !== from && s.units.find((u) => u.id === from)?.state === 'draining',
        10_000,
        mark,
      );
      assert.ok(moved.channels.find((c) => c.id === channelId));
      const logged = await feed.next<{ events: { kind: string; actor?: string; unitId?: string }[] }>('events', (e) => e.events.some((x) => x.kind === 'unit.evacuated'), 10_000, mark);
      assert.equal(logged.events.find((x) => x.kind === 'unit.evacuated')?.actor, 'alice via console');

      // The CSM's own event log names the console operator (and the console's account).
      const log = await cluster.admin<{ events: { kind: string; actor?: string; unitId?: string }[] }>('GET', `/admin/v1/events?kind=unit.evacuated&unitId=${from}`);
      assert.equal(log.body.events[0]?.actor, 'alice via console');

      // A CSM refusal passes through with its code: resume the other, healthy unit.
      const other = from === 'u1' ? 'u2' : 'u1';
      const refused = await http<{ code: string }>('POST', `${base}/units/${other}/resume`, {}, { cookie: session.cookie, 'x-csrf-token': session.csrfToken });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'CSM_ERR_UNIT_STATE');
      const resumed = await http('POST', `${base}/units/${from}/resume`, {}, { cookie: session.cookie, 'x-csrf-token': session.csrfToken });
      assert.equal(resumed.status, 200, resumed.text);
    } finally {
      feed.close();
    }
  });

  it('forwards a capacity change to the CSM with the operator as the actor; the feed shows the new groups count', async () => {
    const session = await signIn();
    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrfToken };
    const noCsrf = await http<{ code: string }>('POST', `${base}/units/u2/capacity`, { groupsPerUnit: 60 }, { cookie: session.cookie });
    assert.equal(noCsrf.status, 403);
    const bad = await http<{ code: string }>('POST', `${base}/units/u2/capacity`, { groupsPerUnit: 0 }, headers);
    assert.equal(bad.status, 400, bad.text);
    const empty = await http('POST', `${base}/units/u2/capacity`, {}, headers);
    assert.equal(empty.status, 400, empty.text);

    const feed = await FeedReader.open(`${base}/live`, { cookie: session.cookie });
    try {
      await feed.next('snapshot');
      const mark = feed.events.length;
      const done = await http<{ id: string; groupsPerUnit: number; groupSize: number }>('POST', `${base}/units/u2/capacity`, { groupsPerUnit: 60, groupSize: 10 }, headers);
      assert.equal(done.status, 200, done.text);
      assert.deepEqual([done.body.id, done.body.groupsPerUnit, done.body.groupSize], ['u2', 60, 10]);
      const log = await cluster.admin<{ events: { actor?: string }[] }>('GET', '/admin/v1/events?kind=unit.capacityChanged&unitId=u2');
      assert.equal(log.body.events[0]?.actor, 'alice via console');
      const state = await feed.next<LiveState>('state', (st) => st.units.find((u) => u.id === 'u2')?.groupsPerUnit === 60, 10_000, mark);
      assert.equal(state.units.find((u) => u.id === 'u2')?.groups.length, 60, 'the units panel grid has the new groups count');
    } finally {
      feed.close();
    }
    // back to the unit's configuration, so the other tests see the cluster as it was
    assert.equal((await cluster.admin('POST', '/admin/v1/units/u2/capacity', { groupsPerUnit: 50 })).status, 200);
  });

  it('the CSM ignores X-OnAir-Actor from an operator that is not a delegate', async () => {
    const drained = await fetch(`${cluster.api}/admin/v1/units/u2/drain`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`op:${OPERATOR_PASSWORD}`).toString('base64')}`, 'x-onair-actor': 'somebody-else', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(drained.status, 200);
    const log = await cluster.admin<{ events: { actor?: string }[] }>('GET', '/admin/v1/events?kind=unit.draining&unitId=u2');
    assert.equal(log.body.events[0]?.actor, 'op');
    assert.equal((await cluster.admin('POST', '/admin/v1/units/u2/resume', {})).status, 200);
  });

  it('signs out: the session is gone', async () => {
    const session = await signIn();
    const out = await http('DELETE', `${base}/session`, undefined, { cookie: session.cookie, 'x-csrf-token': session.csrfToken });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0] ?? '', /^onair_admin=;/);
    const state = await http<{ code: string }>('GET', `${base}/state`, undefined, { cookie: session.cookie });
    assert.equal(state.status, 401);
    assert.equal(state.body.code, 'ADMIN_ERR_UNAUTHENTICATED');
  });

  it('rate-limits sign-in attempts per address', async () => {
    let limited: { status: number; body: { code: string } } | null = null;
    for (let i = 0; i < 12 && !limited; i++) {
      const answer = await http<{ code: string }>('POST', `${base}/session`, { user: 'alice', password: `guess-${i}` });
      if (answer.status === 429) limited = answer;
      else assert.equal(answer.status, 401);
    }
    assert.ok(limited, 'refused within 12 attempts');
    assert.equal(limited.body.code, 'ADMIN_ERR_RATE_LIMITED');
  });

  it('ends open live feeds and exits cleanly on SIGTERM', async () => {
    // signed in before the rate-limit test used up this address's attempts
    const session = kept;
    const feed = await FeedReader.open(`${base}/live`, { cookie: session.cookie });
    await feed.next('snapshot');
    await admin.stop();
    assert.equal(await admin.exited, 0);
    feed.close();
  });
});
