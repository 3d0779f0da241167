import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { harness, openChannel } from './harness.js';

describe('CSM HTTP: service API', () => {
  it('opens a channel, admits a viewer whose ticket verifies for that channel and unit, and lists it', async () => {
    const { app, verifier } = await harness();
    const open = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: { title: 'Morning show', broadcaster: 'bob' } });
    assert.equal(open.statusCode, 201);
    const opened = open.json();
    assert.equal(opened.channelId, 1);
    assert.match(opened.url, /^ws:\/\/unit-/);
    assert.equal(typeof opened.publisherKey, 'string');
    const publish = await verifier.verify(opened.ticket, { role: 'publish', channel: 1 });
    assert.equal(publish.channel, 1);

    const join = await app.inject({ method: 'POST', url: '/api/v1/channels/1/join', payload: {} });
    assert.equal(join.statusCode, 200);
    const joined = join.json();
    assert.deepEqual(joined.transports, ['udp', 'tcp']);
    // The harness's units register without carriers, as units of before them did: the data channel only.
    assert.deepEqual(joined.udpCarriers, ['datachannel']);
    const view = await verifier.verify(joined.ticket, { role: 'view', channel: 1, unit: joined.unitId });
    assert.equal(view.group, joined.groupIndex);
    assert.equal(view.id, joined.viewerId);
    await assert.rejects(verifier.verify(joined.ticket, { role: 'view', channel: 2, unit: joined.unitId }), /TICKET_WRONG_CHANNEL|channel/);
    await assert.rejects(verifier.verify(joined.ticket, { role: 'view', channel: 1, unit: 'elsewhere' }));

    // a join without any body is the same as {}
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/channels/1/join' })).statusCode, 200);

    const list = await app.inject({ url: '/api/v1/channels' });
    assert.equal(list.statusCode, 200);
    const { channels } = list.json();
    assert.equal(channels.length, 1);
    assert.equal(channels[0].title, 'Morning show');
    assert.equal(channels[0].broadcaster, 'bob');
    assert.equal(channels[0].viewers, 2);

    const one = await app.inject({ url: '/api/v1/channels/1' });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().root.unitId, opened.unitId);
    await app.close();
  });

  it('resumes publishing with the right publisher key only, and ends the channel with it', async () => {
    const { app, verifier } = await harness();
    const { channelId, publisherKey, unitId } = await openChannel(app);
    const wrong = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/publish`, payload: { publisherKey: 'not-the-key' } });
    assert.equal(wrong.statusCode, 403);
    assert.deepEqual(wrong.json(), { code: 'CSM_ERR_BAD_PUBLISHER_KEY', message: "wrong publisher key for this channel", retryable: false });

    const resumed = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/publish`, payload: { publisherKey } });
    assert.equal(resumed.statusCode, 200);
    assert.equal(resumed.json().unitId, unitId);
    assert.equal('publisherKey' in resumed.json(), false);
    await verifier.verify(resumed.json().ticket, { role: 'publish', channel: channelId });

    const endWrong = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/end`, payload: { publisherKey: 'nope' } });
    assert.equal(endWrong.statusCode, 403);
    const end = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/end`, payload: { publisherKey } });
    assert.equal(end.statusCode, 204);
    assert.equal(end.body, '');
    const gone = await app.inject({ url: `/api/v1/channels/${channelId}` });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'CSM_ERR_NO_SUCH_CHANNEL');
    assert.deepEqual((await app.inject({ url: '/api/v1/channels' })).json(), { channels: [] });
    await app.close();
  });

  it('answers 404 with a code for unknown channels and unknown routes', async () => {
    const { app } = await harness();
    for (const [method, url, payload] of [
      ['GET', '/api/v1/channels/42', undefined],
      ['POST', '/api/v1/channels/42/join', {}],
      ['POST', '/api/v1/channels/42/publish', { publisherKey: 'k' }],
      ['POST', '/api/v1/channels/42/end', { publisherKey: 'k' }],
    ] as const) {
      const res = await app.inject({ method, url, ...(payload && { payload }) });
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(res.json(), { code: 'CSM_ERR_NO_SUCH_CHANNEL', message: 'no such channel: 42', retryable: false });
    }
    const route = await app.inject({ url: '/api/v2/channels' });
    assert.equal(route.statusCode, 404);
    assert.equal(route.json().code, 'CSM_ERR_NOT_FOUND');
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/channels/1' })).json().code, 'CSM_ERR_NOT_FOUND');
    await app.close();
  });

  it('refuses malformed input with 400 CSM_ERR_VALIDATION, never 500', async () => {
    const { app } = await harness();
    await openChannel(app);
    const cases: { name: string; method: 'GET' | 'POST'; url: string; payload?: unknown; headers?: Record<string, string>; match: RegExp }[] = [
      { name: 'id "abc"', method: 'GET', url: '/api/v1/channels/abc', match: /params\/id/ },
      { name: 'id "0"', method: 'GET', url: '/api/v1/channels/0', match: /params\/id/ },
      { name: 'id "-1"', method: 'GET', url: '/api/v1/channels/-1', match: /params\/id/ },
      { name: 'id "1.5"', method: 'POST', url: '/api/v1/channels/1.5/join', payload: {}, match: /params\/id/ },
      { name: 'id "1e0"', method: 'GET', url: '/api/v1/channels/1e0', match: /params\/id/ },
      { name: 'id too large', method: 'GET', url: '/api/v1/channels/2147483648', match: /params\/id/ },
      { name: 'extra property', method: 'POST', url: '/api/v1/channels', payload: { title: 't', broadcaster: 'b', admin: true }, match: /additional properties: "admin"/ },
      { name: 'extra property on join', method: 'POST', url: '/api/v1/channels/1/join', payload: { unit: 'a' }, match: /additional/ },
      { name: 'missing broadcaster', method: 'POST', url: '/api/v1/channels', payload: { title: 't' }, match: /broadcaster/ },
      { name: 'no body', method: 'POST', url: '/api/v1/channels', match: /required/ },
      { name: 'title too long', method: 'POST', url: '/api/v1/channels', payload: { title: 'x'.repeat(121), broadcaster: 'b' }, match: /body\/title/ },
      { name: 'empty title', method: 'POST', url: '/api/v1/channels', payload: { title: '', broadcaster: 'b' }, match: /body\/title/ },
      { name: 'broadcaster too long', method: 'POST', url: '/api/v1/channels', payload: { title: 't', broadcaster: 'b'.repeat(61) }, match: /body\/broadcaster/ },
      { name: 'number for a string (no coercion)', method: 'POST', url: '/api/v1/channels', payload: { title: 5, broadcaster: 'b' }, match: /body\/title/ },
      { name: 'array body', method: 'POST', url: '/api/v1/channels', payload: [1, 2], match: /object/ },
      { name: 'missing publisherKey', method: 'POST', url: '/api/v1/channels/1/publish', payload: {}, match: /publisherKey/ },
      { name: 'garbage JSON', method: 'POST', url: '/api/v1/channels', payload: '{"title": "t", broad', headers: { 'content-type': 'application/json' }, match: /JSON/ },
    ];
    for (const c of cases) {
      const res = await app.inject({ method: c.method, url: c.url, ...(c.payload !== undefined && { payload: c.payload as object | string }), ...(c.headers && { headers: c.headers }) });
      assert.equal(res.statusCode, 400, `${c.name}: ${res.body}`);
      const body = res.json();
      assert.equal(body.code, 'CSM_ERR_VALIDATION', c.name);
      assert.equal(body.retryable, false);
      assert.match(body.message, c.match, c.name);
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'retryable']);
    }
    // a body fastify cannot take keeps its own status but the same code
    const text = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().code, 'CSM_ERR_VALIDATION');
    const huge = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: { title: 'x'.repeat(20_000), broadcaster: 'b' } });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().code, 'CSM_ERR_VALIDATION');
    await app.close();
  });

  it('answers 503 CSM_ERR_NO_CAPACITY with Retry-After when no unit has a free group', async () => {
    const { app } = await harness({ units: [['tiny', 1, 1]] });
    const { channelId } = await openChannel(app);
    assert.equal((await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/join`, payload: {} })).statusCode, 200);
    const full = await app.inject({ method: 'POST', url: `/api/v1/channels/${channelId}/join`, payload: {} });
    assert.equal(full.statusCode, 503);
    assert.equal(full.headers['retry-after'], '1');
    assert.equal(full.json().code, 'CSM_ERR_NO_CAPACITY');
    assert.equal(full.json().retryable, true);
    const second = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: { title: 't', broadcaster: 'b' } });
    assert.equal(second.statusCode, 503);
    assert.equal(second.headers['retry-after'], '1');
    assert.equal(second.json().code, 'CSM_ERR_NO_CAPACITY');
    await app.close();
  });

  it("answers 503 CSM_ERR_NOT_ACTIVE with Retry-After for changes while this CSM is the backup, and still serves reads", async () => {
    const h = await harness();
    const { channelId } = await openChannel(h.app);
    h.role.value = 'backup';
    for (const [url, payload] of [
      ['/api/v1/channels', { title: 't', broadcaster: 'b' }],
      [`/api/v1/channels/${channelId}/join`, {}],
    ] as const) {
      const res = await h.app.inject({ method: 'POST', url, payload });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.json(), { code: 'CSM_ERR_NOT_ACTIVE', message: 'this CSM is not the active one', retryable: true });
    }
    assert.equal((await h.app.inject({ url: '/api/v1/channels' })).statusCode, 200);
    await h.app.close();
  });

  it('requires the service token when one is configured, compared exactly', async () => {
    const { app } = await harness({ serviceToken: 's3cret-token' });
    const none = await app.inject({ url: '/api/v1/channels' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'CSM_ERR_UNAUTHORIZED');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    for (const authorization of ['Bearer s3cret-toke', 'Bearer s3cret-token2', 'Basic s3cret-token', 's3cret-token', 'Bearer ']) {
      const res = await app.inject({ url: '/api/v1/channels', headers: { authorization } });
      assert.equal(res.statusCode, 401, authorization);
    }
    // refused before the body is looked at
    const unauthBad = await app.inject({ method: 'POST', url: '/api/v1/channels', payload: { nonsense: 1 } });
    assert.equal(unauthBad.statusCode, 401);
    assert.equal((await app.inject({ url: '/api/v1/channels', headers: { authorization: 'Bearer s3cret-token' } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/v1/channels', headers: { authorization: 'bearer s3cret-token' } })).statusCode, 200);
    await openChannel(app, 'ok', { authorization: 'Bearer s3cret-token' });
    // ops routes stay open for keepalived and Prometheus
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    await app.close();
  });

  it('rate-limits per client IP with 429 CSM_ERR_RATE_LIMITED', async () => {
    const { app } = await harness({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/api/v1/channels' })).statusCode, 200);
    const limited = await app.inject({ url: '/api/v1/channels' });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().code, 'CSM_ERR_RATE_LIMITED');
    assert.equal(limited.json().retryable, true);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // another client is not affected, nor are the health check and the other API's own counter
    assert.equal((await app.inject({ url: '/api/v1/channels', remoteAddress: '10.0.0.9' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/admin/v1/cluster' })).statusCode, 401);
    await app.close();
  });

  it('does not count calls that carry the service token (the web server calls for all its browsers), but does count wrong tokens', async () => {
    const { app } = await harness({ rateLimitPerMinute: 3, serviceToken: 's3cret-token' });
    for (let i = 0; i < 10; i++) assert.equal((await app.inject({ url: '/api/v1/channels', headers: { authorization: 'Bearer s3cret-token' } })).statusCode, 200, `call ${i}`);
    for (let i = 0; i < 3; i++) assert.equal((await app.inject({ url: '/api/v1/channels', headers: { authorization: 'Bearer guess' } })).statusCode, 401);
    const limited = await app.inject({ url: '/api/v1/channels', headers: { authorization: 'Bearer guess' } });
    assert.equal(limited.statusCode, 429, 'a guesser is limited before its guess is checked');
    await app.close();
  });
});
