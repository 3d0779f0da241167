/**
 * The web server's browser API against real processes: a CSM and a streaming unit (tickets on, so
 * publishers and viewers connect), and `onair web` in front of the CSM with a service token. web/client
 * drives it as a page would: its CsmApi pointed at the web server's origin, its Publisher and Viewers
 * over `ws`. Nothing of the CSM is mocked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { JoinResult, OpenChannelResult } from '../../protocol/service-api.js';
import type { WebChannel, WebChannelList } from '../../protocol/web-api.js';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Publisher } from '../../web/client/Publisher.js';
import { Viewer } from '../../web/client/Viewer.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { waitFor } from '../support/processes.js';
import { http, startWeb, type Answer, type WebProcess } from './web-process.js';

const TOKEN = `svc-${randomBytes(16).toString('hex')}`;
const clientOptions = { WebSocket, maxAttempts: 5, reconnectMinMs: 100, reconnectMaxMs: 500, rejoinMinMs: 100, rejoinMaxMs: 500 };

describe('web server in front of a real CSM and unit', () => {
  let cluster: ProcessCluster;
  let web: WebProcess;
  let api: CsmApi;
  let publisher: Publisher | undefined;
  const viewers: Viewer[] = [];
  /** every answer the web server gave in this file, to check the service token never left it */
  const answers: Answer<unknown>[] = [];
  const call = async <T>(method: string, path: string, body?: unknown): Promise<Answer<T>> => {
    const answer = await http<T>(method, `${web.url}${path}`, body);
    answers.push(answer);
    return answer;
  };
  const list = async (): Promise<WebChannel[]> => (await call<WebChannelList>('GET', '/api/v1/channels')).body.channels;
  /** straight at the CSM, as another web server would */
  const atCsm = <T>(method: string, path: string, body?: unknown): Promise<Answer<T>> => http<T>(method, `${cluster.api}${path}`, body, { authorization: `Bearer ${TOKEN}` });

  before(async () => {
    cluster = await startProcessCluster(['wu1'], { media: true, csmEnv: { ONAIR_CSM_SERVICE_TOKEN: TOKEN } });
    web = await startWeb(cluster.api, { ONAIR_WEB_CSM_SERVICE_TOKEN: TOKEN, ONAIR_WEB_CHANNEL_SYNC_MS: '200', ONAIR_WEB_CSM_TIMEOUT_MS: '1000' });
    api = new CsmApi({ baseUrl: web.url, retries: 0 });
  });

  after(async () => {
    publisher?.close();
    for (const viewer of viewers) viewer.close();
    api?.close();
    await web?.stop();
    await cluster?.stop();
  });

  it('opens a channel through the CSM, answers its OpenChannelResult, and lists it newest first', async () => {
    const before = Date.now();
    const first = await call<OpenChannelResult>('POST', '/api/v1/channels', { title: 'Morning show ☕', broadcaster: 'bob' });
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(Object.keys(first.body).sort(), ['channelId', 'expiresAt', 'group', 'publisherKey', 'ticket', 'unitId', 'url']);
    assert.equal(first.body.unitId, 'wu1');
    assert.equal(first.body.url, cluster.units.get('wu1')!.address);
    const second = await call<OpenChannelResult>('POST', '/api/v1/channels', { title: 'Evening news', broadcaster: 'alice' });
    assert.equal(second.status, 201, second.text);

    const channels = await list();
    assert.deepEqual(channels.map((c) => c.channelId), [second.body.channelId, first.body.channelId], 'newest first');
    const shown = channels[1]!;
    assert.equal(shown.title, 'Morning show ☕');
    assert.equal(shown.broadcaster, 'bob');
    assert.ok(shown.startedAt >= before && shown.startedAt <= Date.now());
    assert.equal(shown.viewers, 0);
    assert.equal('endedAt' in shown, false);
    const one = await call<WebChannel>('GET', `/api/v1/channels/${first.body.channelId}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, shown);
    const none = await call<{ code: string }>('GET', '/api/v1/channels/999999');
    assert.equal(none.status, 404);
    assert.deepEqual(none.body, { code: 'WEB_ERR_NO_SUCH_CHANNEL', message: 'no such channel: 999999', retryable: false });
  });

  it("joins (a JoinResult for the unit), passes the CSM's 403 for a wrong publisher key through, and ends", async () => {
    const opened = (await call<OpenChannelResult>('POST', '/api/v1/channels', { title: 'keys', broadcaster: 'carol' })).body;
    const id = opened.channelId;
    const join = await call<JoinResult>('POST', `/api/v1/channels/${id}/join`, {});
    assert.equal(join.status, 200, join.text);
    assert.equal(join.body.channelId, id);
    assert.equal(join.body.url, cluster.units.get('wu1')!.address);
    assert.deepEqual(join.body.transports, ['udp', 'tcp']);
    // The unit registered the carriers it serves; the CSM and then the web server pass them on.
    assert.deepEqual(join.body.udpCarriers, ['datachannel', 'rtp']);
    assert.equal((await call('POST', `/api/v1/channels/${id}/join`)).status, 200, 'a join without a body is the same as {}');

    const wrongKey = { code: 'CSM_ERR_BAD_PUBLISHER_KEY', message: 'wrong publisher key for this channel', retryable: false };
    for (const action of ['publish', 'end']) {
      const wrong = await call('POST', `/api/v1/channels/${id}/${action}`, { publisherKey: 'not-the-key' });
      assert.equal(wrong.status, 403, action);
      assert.deepEqual(wrong.body, wrongKey, action);
    }
    const missing = await call<{ code: string }>('POST', '/api/v1/channels/999999/join', {});
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'CSM_ERR_NO_SUCH_CHANNEL');

    const resumed = await call<{ unitId: string; ticket: string }>('POST', `/api/v1/channels/${id}/publish`, { publisherKey: opened.publisherKey });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.body.unitId, 'wu1');
    assert.equal('publisherKey' in resumed.body, false);

    const end = await call('POST', `/api/v1/channels/${id}/end`, { publisherKey: opened.publisherKey });
    assert.equal(end.status, 204);
    assert.equal(end.text, '');
    assert.equal((await list()).some((c) => c.channelId === id), false, 'gone from the list at once');
    const ended = await call<WebChannel>('GET', `/api/v1/channels/${id}`);
    assert.equal(ended.status, 200);
    assert.ok(typeof ended.body.endedAt === 'number');
    // a few syncs later it has not come back
    const synced = Date.now();
    await waitFor('two syncs after the end', async () => ((await call<{ lastSyncAt: number }>('GET', '/healthz')).body.lastSyncAt ?? 0) > synced + 250);
    assert.equal((await list()).some((c) => c.channelId === id), false);
  });

  it("follows the CSM's viewer counts, peak and broadcaster state through the sync", async () => {
    publisher = await Publisher.open({ api, ...clientOptions }, { title: 'live with viewers', broadcaster: 'dave' });
    const id = publisher.channelId;
    await waitFor('the publisher to connect', () => publisher!.state === 'open');
    const three = [0, 1, 2].map(() => new Viewer({ api, ...clientOptions, channelId: id }));
    viewers.push(...three);
    await Promise.all(three.map((v) => v.start()));
    const channel = async (): Promise<WebChannel | undefined> => (await list()).find((c) => c.channelId === id);
    const live = await waitFor('3 viewers and the broadcaster on, from the CSM', async () => {
      const c = await channel();
      return c && c.viewers === 3 && c.publisherConnected ? c : null;
    });
    assert.ok(live.peakViewers >= 3);
    three[0]!.close();
    three[1]!.close();
    const after = await waitFor('the count to fall to 1', async () => {
      const c = await channel();
      return c?.viewers === 1 ? c : null;
    }, 15_000);
    assert.equal(after.peakViewers, live.peakViewers, 'the peak stays');
  });

  it('adopts a channel opened directly at the CSM (through another web server) with its title and createdAt', async () => {
    const opened = await atCsm<OpenChannelResult>('POST', '/api/v1/channels', { title: 'from elsewhere', broadcaster: 'erin' });
    assert.equal(opened.status, 201, opened.text);
    const info = await atCsm<{ createdAt: number }>('GET', `/api/v1/channels/${opened.body.channelId}`);
    const adopted = await waitFor('the channel to be adopted', async () => (await list()).find((c) => c.channelId === opened.body.channelId));
    assert.equal(adopted.title, 'from elsewhere');
    assert.equal(adopted.broadcaster, 'erin');
    assert.equal(adopted.startedAt, info.body.createdAt);
    // ended at the CSM behind the web server's back: the sync ends it here too
    assert.equal((await atCsm('POST', `/api/v1/channels/${opened.body.channelId}/end`, { publisherKey: opened.body.publisherKey })).status, 204);
    await waitFor('the channel to leave the list', async () => !(await list()).some((c) => c.channelId === opened.body.channelId));
  });

  it('when the CSM is gone: 503 WEB_ERR_CSM_UNAVAILABLE with Retry-After, /healthz 200 with csm unreachable, the list still served', async () => {
    const before = await list();
    assert.ok(before.length >= 3);
    await cluster.csm.stop();
    for (const [path, body] of [
      ['/api/v1/channels', { title: 't', broadcaster: 'b' }],
      [`/api/v1/channels/${before[0]!.channelId}/join`, {}],
      [`/api/v1/channels/${before[0]!.channelId}/publish`, { publisherKey: 'k' }],
      [`/api/v1/channels/${before[0]!.channelId}/end`, { publisherKey: 'k' }],
    ] as const) {
      const answer = await call('POST', path, body);
      assert.equal(answer.status, 503, path);
      assert.deepEqual(answer.body, { code: 'WEB_ERR_CSM_UNAVAILABLE', message: 'the cluster manager cannot be reached; try again shortly', retryable: true });
      assert.equal(answer.headers.get('retry-after'), '1');
    }
    const health = await waitFor('/healthz to report the CSM unreachable', async () => {
      const h = await call<{ ok: boolean; csm: string; lastSyncAt: number }>('GET', '/healthz');
      return h.status === 200 && h.body.csm === 'unreachable' ? h.body : null;
    });
    assert.equal(health.ok, true);
    assert.ok(health.lastSyncAt > 0);
    assert.deepEqual(await list(), before, 'the last good list stays');
    const metrics = (await call('GET', '/metrics')).text;
    assert.match(metrics, /^onair_web_channel_sync_failures_total [1-9]/m);
    assert.match(metrics, /^onair_web_api_requests_total\{route="\/api\/v1\/channels\/:id\/join",status="503"\} [1-9]/m);
    assert.match(metrics, new RegExp(`^onair_web_channels_live ${before.length}$`, 'm'));
  });

  it('never sent the service token to a browser', () => {
    assert.ok(answers.length > 20);
    for (const answer of answers) {
      assert.equal(answer.text.includes(TOKEN), false);
      for (const [name, value] of answer.headers) assert.equal(value.includes(TOKEN), false, name);
    }
  });
});
