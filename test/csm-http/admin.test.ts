import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, basic, harness, OPERATOR, openChannel } from './harness.js';
import { unitRecord } from '../../csm/cluster/views.js';

describe('CSM HTTP: admin API', () => {
  it('requires operator credentials on every route', async () => {
    const { app } = await harness();
    const cases = [
      ['no credentials', {}],
      ['wrong password', { authorization: basic(OPERATOR.user, 'guess') }],
      ['unknown user', { authorization: basic('mallory', OPERATOR.password) }],
      ['not basic', { authorization: `Bearer ${OPERATOR.password}` }],
      ['no colon', { authorization: `Basic ${Buffer.from('alice').toString('base64')}` }],
      ['garbage', { authorization: 'Basic !!!' }],
    ] as const;
    for (const [name, headers] of cases) {
      const res = await app.inject({ url: '/admin/v1/cluster', headers });
      assert.equal(res.statusCode, 401, name);
      assert.deepEqual(res.json(), { code: 'CSM_ERR_UNAUTHORIZED', message: 'credentials required (operator login or service token)', retryable: false });
      assert.match(String(res.headers['www-authenticate']), /^Basic realm="onair-admin"/, name);
    }
    // checked before the route's own validation, and on changes as well as reads
    assert.equal((await app.inject({ method: 'POST', url: '/admin/v1/channels/abc/expand', payload: {} })).statusCode, 401);
    assert.equal((await app.inject({ method: 'DELETE', url: '/admin/v1/units/a' })).statusCode, 401);
    assert.equal((await app.inject({ url: '/admin/v1/units/a' })).statusCode, 401);
    const ok = await app.inject({ url: '/admin/v1/cluster', headers: ALICE });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json().units, { total: 2, up: 2, draining: 0, failed: 0 });
    assert.equal(ok.json().role, 'active');
    assert.equal(ok.json().epoch, 1);
    await app.close();
  });

  it('evacuates a unit: the tree moves to another unit and the log names the operator', async () => {
    const { app } = await harness();
    const { channelId, unitId } = await openChannel(app);
    const evac = await app.inject({ method: 'POST', url: `/admin/v1/units/${unitId}/evacuate`, headers: ALICE });
    assert.equal(evac.statusCode, 200);
    assert.deepEqual(evac.json(), { moved: [channelId] });

    const tree = await app.inject({ url: `/admin/v1/channels/${channelId}/tree`, headers: ALICE });
    assert.equal(tree.statusCode, 200);
    assert.notEqual(tree.json().unitId, unitId);
    assert.deepEqual(tree.json().children, []);
    const channel = (await app.inject({ url: `/admin/v1/channels/${channelId}`, headers: ALICE })).json();
    assert.equal(channel.root.unitId, tree.json().unitId);

    const unit = (await app.inject({ url: `/admin/v1/units/${unitId}`, headers: ALICE })).json();
    assert.equal(unit.state, 'draining');
    assert.equal(unit.groups.length, 50);
    assert.ok(unit.groups.every((g: unknown) => g === null));

    const log = await app.inject({ url: `/admin/v1/events?kind=unit.evacuated&unitId=${unitId}`, headers: ALICE });
    assert.equal(log.statusCode, 200);
    const [event, ...rest] = log.json().events;
    assert.equal(rest.length, 0);
    assert.equal(event.actor, OPERATOR.user);
    assert.equal(event.kind, 'unit.evacuated');
    assert.match(event.message, /evacuated by alice/);
    await app.close();
  });

  it('drains and resumes a unit, refusing the wrong state with 409 CSM_ERR_UNIT_STATE', async () => {
    const { app } = await harness();
    const drain = await app.inject({ method: 'POST', url: '/admin/v1/units/a/drain', headers: ALICE, payload: {} });
    assert.equal(drain.statusCode, 200);
    assert.equal(drain.json().state, 'draining');
    const again = await app.inject({ method: 'POST', url: '/admin/v1/units/a/drain', headers: ALICE });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'CSM_ERR_UNIT_STATE');
    // nothing new is placed on a draining unit
    assert.equal((await openChannel(app)).unitId, 'b');
    const resume = await app.inject({ method: 'POST', url: '/admin/v1/units/a/resume', headers: ALICE });
    assert.equal(resume.statusCode, 200);
    assert.equal(resume.json().state, 'up');
    const resumeAgain = await app.inject({ method: 'POST', url: '/admin/v1/units/a/resume', headers: ALICE });
    assert.equal(resumeAgain.statusCode, 409);
    assert.equal(resumeAgain.json().code, 'CSM_ERR_UNIT_STATE');

    const unknown = await app.inject({ method: 'POST', url: '/admin/v1/units/zz/drain', headers: ALICE });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'CSM_ERR_NO_SUCH_UNIT');
    const badId = await app.inject({ method: 'POST', url: '/admin/v1/units/a%20b/drain', headers: ALICE });
    assert.equal(badId.statusCode, 400);
    assert.equal(badId.json().code, 'CSM_ERR_VALIDATION');
    const extra = await app.inject({ method: 'POST', url: '/admin/v1/units/a/drain', headers: ALICE, payload: { force: true } });
    assert.equal(extra.statusCode, 400);

    const drains = (await app.inject({ url: '/admin/v1/events?kind=unit.draining,unit.resumed', headers: ALICE })).json().events;
    assert.deepEqual(drains.map((e: { kind: string; actor: string }) => [e.kind, e.actor]), [['unit.resumed', 'alice'], ['unit.draining', 'alice']]);
    await app.close();
  });

  it('removes only an empty unit (409 CSM_ERR_UNIT_NOT_EMPTY otherwise)', async () => {
    const { app } = await harness();
    const { unitId } = await openChannel(app);
    const busy = await app.inject({ method: 'DELETE', url: `/admin/v1/units/${unitId}`, headers: ALICE });
    assert.equal(busy.statusCode, 409);
    assert.equal(busy.json().code, 'CSM_ERR_UNIT_NOT_EMPTY');
    assert.equal((await app.inject({ method: 'POST', url: `/admin/v1/units/${unitId}/evacuate`, headers: ALICE })).statusCode, 200);
    const removed = await app.inject({ method: 'DELETE', url: `/admin/v1/units/${unitId}`, headers: ALICE });
    assert.equal(removed.statusCode, 204);
    assert.equal((await app.inject({ url: `/admin/v1/units/${unitId}`, headers: ALICE })).json().code, 'CSM_ERR_NO_SUCH_UNIT');
    const units = (await app.inject({ url: '/admin/v1/units', headers: ALICE })).json();
    assert.deepEqual(units.map((u: { id: string }) => u.id), [unitId === 'a' ? 'b' : 'a']);
    await app.close();
  });

  it('expands and shrinks a channel, lists its groups, and closes it', async () => {
    const { app } = await harness();
    const { channelId } = await openChannel(app);
    const expand = await app.inject({ method: 'POST', url: `/admin/v1/channels/${channelId}/expand`, headers: ALICE, payload: { groups: 3 } });
    assert.equal(expand.statusCode, 200);
    const added = expand.json();
    assert.equal(added.length, 3);
    assert.ok(added.every((g: { role: string; channelId: number }) => g.role === 'member' && g.channelId === channelId));

    const groups = (await app.inject({ url: `/admin/v1/channels/${channelId}/groups`, headers: ALICE })).json();
    assert.equal(groups.length, 4);
    const all = (await app.inject({ url: '/admin/v1/groups', headers: ALICE })).json();
    assert.equal(all.length, 4);
    const onUnit = (await app.inject({ url: `/admin/v1/groups?unitId=${groups[0].unitId}`, headers: ALICE })).json();
    assert.ok(onUnit.length >= 1 && onUnit.every((g: { unitId: string }) => g.unitId === groups[0].unitId));
    assert.equal((await app.inject({ url: '/admin/v1/groups?unitId=nope', headers: ALICE })).statusCode, 404);

    for (const payload of [{ groups: 0 }, { groups: 101 }, { groups: 1.5 }, { groups: '2' }, {}, { groups: 1, extra: 1 }]) {
      const bad = await app.inject({ method: 'POST', url: `/admin/v1/channels/${channelId}/expand`, headers: ALICE, payload });
      assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      assert.equal(bad.json().code, 'CSM_ERR_VALIDATION');
    }

    const shrink = await app.inject({ method: 'POST', url: `/admin/v1/channels/${channelId}/shrink`, headers: ALICE });
    assert.equal(shrink.statusCode, 200);
    assert.deepEqual(shrink.json(), { released: 3 });
    assert.equal((await app.inject({ url: `/admin/v1/channels/${channelId}/groups`, headers: ALICE })).json().length, 1);

    const actions = (await app.inject({ url: `/admin/v1/events?kind=operator.action&channelId=${channelId}`, headers: ALICE })).json().events;
    assert.equal(actions.length, 2);
    assert.ok(actions.every((e: { actor: string }) => e.actor === 'alice'));

    const list = (await app.inject({ url: '/admin/v1/channels', headers: ALICE })).json();
    assert.deepEqual(list.map((c: { id: number }) => c.id), [channelId]);
    assert.equal((await app.inject({ method: 'DELETE', url: `/admin/v1/channels/${channelId}`, headers: ALICE })).statusCode, 204);
    const gone = await app.inject({ url: `/admin/v1/channels/${channelId}/tree`, headers: ALICE });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'CSM_ERR_NO_SUCH_CHANNEL');
    assert.equal((await app.inject({ method: 'DELETE', url: `/admin/v1/channels/${channelId}`, headers: ALICE })).statusCode, 404);
    const closed = (await app.inject({ url: `/admin/v1/events?kind=channel.closed`, headers: ALICE })).json().events;
    assert.equal(closed[0].actor, 'alice');
    await app.close();
  });

  it('filters and pages the event log', async () => {
    const { app } = await harness();
    const first = await openChannel(app);
    const second = await openChannel(app);
    await app.inject({ method: 'POST', url: '/admin/v1/units/a/drain', headers: ALICE });
    const get = async (query: string) => {
      const res = await app.inject({ url: `/admin/v1/events${query}`, headers: ALICE });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      return res.json().events as { id: string; kind: string; unitId?: string; channelId?: number }[];
    };
    const everything = await get('');
    assert.deepEqual(everything.map((e) => e.kind), ['unit.draining', 'channel.opened', 'channel.opened', 'unit.registered', 'unit.registered']);
    assert.deepEqual((await get('?kind=channel.opened')).map((e) => e.channelId), [second.channelId, first.channelId]);
    assert.equal((await get('?kind=channel.opened,unit.draining')).length, 3);
    assert.equal((await get('?kind=channel.opened&kind=unit.draining')).length, 3);
    assert.equal((await get('?kind=')).length, 5, 'an empty kind list is no filter');
    assert.deepEqual((await get(`?channelId=${first.channelId}`)).map((e) => e.kind), ['channel.opened']);
    assert.deepEqual((await get('?unitId=a&kind=unit.draining')).map((e) => e.unitId), ['a']);
    assert.equal((await get('?unitId=b&kind=unit.draining')).length, 0);
    const page1 = await get('?limit=2');
    assert.equal(page1.length, 2);
    const page2 = await get(`?limit=2&beforeId=${page1[1]!.id}`);
    assert.deepEqual(page2.map((e) => e.id), [everything[2]!.id, everything[3]!.id]);

    for (const query of ['?kind=nope', '?kind=channel.opened,bogus', '?limit=0', '?limit=1001', '?limit=x', '?beforeId=12', '?channelId=-3', '?unitId=a%2Fb', '?since=1', '?limit=1&limit=2']) {
      const res = await app.inject({ url: `/admin/v1/events${query}`, headers: ALICE });
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
      assert.equal(res.json().code, 'CSM_ERR_VALIDATION');
    }
    await app.close();
  });

  it('answers 503 CSM_ERR_NOT_ACTIVE for operator changes on the backup', async () => {
    const h = await harness();
    h.role.value = 'backup';
    const res = await h.app.inject({ method: 'POST', url: '/admin/v1/units/a/drain', headers: ALICE });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.json().code, 'CSM_ERR_NOT_ACTIVE');
    assert.equal((await h.app.inject({ url: '/admin/v1/cluster', headers: ALICE })).json().role, 'backup');
    await h.app.close();
  });

  it('changes a unit\'s capacity for new placements, tells the unit, mirrors it and logs the operator', async () => {
    const h = await harness({ units: [['a', 4, 3]] });
    const url = '/admin/v1/units/a/capacity';
    const res = await h.app.inject({ method: 'POST', url, headers: ALICE, payload: { groupsPerUnit: 6, groupSize: 5 } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().groupsPerUnit, 6);
    assert.equal(res.json().groupSize, 5);
    assert.equal((await h.app.inject({ url: '/admin/v1/units/a', headers: ALICE })).json().groups.length, 6);
    const record = unitRecord(h.sim.cluster.unit('a'));
    assert.equal(record.groupsPerUnit, 6);
    assert.equal(record.groupSize, 5);
    assert.deepEqual(h.sim.commands.filter((c) => c.method === 'csm.setCapacity').map((c) => [c.unitId, c.params]), [['a', { groupsPerUnit: 6, groupSize: 5 }]]);
    const [event] = (await h.app.inject({ url: '/admin/v1/events?kind=unit.capacityChanged', headers: ALICE })).json().events;
    assert.equal(event.actor, OPERATOR.user);
    assert.equal(event.unitId, 'a');
    assert.match(event.message, /4 groups × 3 → 6 groups × 5/);

    // a new group gets the new size; one value alone keeps the other
    const { channelId } = await openChannel(h.app);
    const groups = (await h.app.inject({ url: `/admin/v1/channels/${channelId}/groups`, headers: ALICE })).json();
    assert.equal(groups[0].capacity, 5);
    const only = await h.app.inject({ method: 'POST', url, headers: ALICE, payload: { groupSize: 2 } });
    assert.equal(only.statusCode, 200);
    assert.deepEqual([only.json().groupsPerUnit, only.json().groupSize], [6, 2]);
    // existing groups keep theirs
    assert.equal((await h.app.inject({ url: `/admin/v1/channels/${channelId}/groups`, headers: ALICE })).json()[0].capacity, 5);
    await h.app.close();
  });

  it('refuses a capacity below a used group (409), a bad body (400), no credentials (401), and on the backup (503)', async () => {
    const h = await harness({ units: [['a', 4, 3]] });
    const url = '/admin/v1/units/a/capacity';
    await openChannel(h.app);
    await openChannel(h.app); // groups 0 and 1 in use
    const shrink = await h.app.inject({ method: 'POST', url, headers: ALICE, payload: { groupsPerUnit: 1 } });
    assert.equal(shrink.statusCode, 409);
    assert.equal(shrink.json().code, 'CSM_ERR_UNIT_STATE');
    assert.match(shrink.json().message, /group index 1/);
    assert.equal(h.sim.cluster.unit('a').groupsPerUnit, 4);
    assert.equal(h.sim.commands.filter((c) => c.method === 'csm.setCapacity').length, 0);
    const fits = await h.app.inject({ method: 'POST', url, headers: ALICE, payload: { groupsPerUnit: 2 } });
    assert.equal(fits.statusCode, 200);
    assert.equal(fits.json().groupsPerUnit, 2);

    for (const payload of [{}, { groupsPerUnit: 0 }, { groupSize: 1001 }, { groupSize: 2.5 }, { groupsPerUnit: '3' }, { groupSize: 3, force: true }]) {
      const bad = await h.app.inject({ method: 'POST', url, headers: ALICE, payload });
      assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      assert.equal(bad.json().code, 'CSM_ERR_VALIDATION');
    }
    assert.equal((await h.app.inject({ method: 'POST', url, payload: { groupSize: 3 } })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'POST', url: '/admin/v1/units/zz/capacity', headers: ALICE, payload: { groupSize: 3 } })).statusCode, 404);
    h.role.value = 'backup';
    assert.equal((await h.app.inject({ method: 'POST', url, headers: ALICE, payload: { groupSize: 3 } })).statusCode, 503);
    await h.app.close();
  });
});
