/**
 * Hostile and malformed requests against a real `onair web` process: each is refused with its code
 * in the `{ code, message, retryable }` shape, never a 500, and the server stays healthy. The CSM is
 * not needed for any of them (a free port stands for it: a request that reached it would be a 503).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/free-port.js';
import { http, startWeb, type WebProcess } from './web-process.js';

interface ErrorBody {
  code: string;
  message: string;
  retryable: boolean;
}

/** Sends raw bytes and returns the status line and body: for requests fetch will not make. */
function rawRequest(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

describe('web server: bad input', () => {
  let web: WebProcess;
  let limited: WebProcess | undefined;
  const emptyPages = mkdtempSync(join(tmpdir(), 'onair-web-nopages-'));

  before(async () => {
    web = await startWeb(`http://127.0.0.1:${await freePort()}`, { ONAIR_WEB_PAGES_DIR: emptyPages, ONAIR_WEB_CSM_TIMEOUT_MS: '500' });
  });

  after(async () => {
    await web?.stop();
    await limited?.stop();
    rmSync(emptyPages, { recursive: true, force: true });
  });

  const assertHealthy = async (): Promise<void> => {
    const health = await http<{ ok: boolean }>('GET', `${web.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.ok, true);
  };

  it('refuses each kind of bad request with its own code', async () => {
    const api = `${web.url}/api/v1`;
    const cases: { name: string; method: string; url: string; body?: unknown; headers?: Record<string, string>; status: number; code: string; match?: RegExp }[] = [
      { name: 'oversize body', method: 'POST', url: `${api}/channels`, body: { title: 'x'.repeat(20_000), broadcaster: 'b' }, status: 413, code: 'WEB_ERR_BODY_TOO_LARGE' },
      { name: 'bad JSON', method: 'POST', url: `${api}/channels`, body: '{"title": "t", broad', headers: { 'content-type': 'application/json' }, status: 400, code: 'WEB_ERR_BAD_JSON' },
      { name: 'empty JSON body', method: 'POST', url: `${api}/channels`, body: '', headers: { 'content-type': 'application/json' }, status: 400, code: 'WEB_ERR_BAD_JSON' },
      { name: '__proto__ in JSON', method: 'POST', url: `${api}/channels`, body: '{"title":"t","broadcaster":"b","__proto__":{"x":1}}', headers: { 'content-type': 'application/json' }, status: 400, code: 'WEB_ERR_BAD_JSON' },
      { name: 'not JSON at all', method: 'POST', url: `${api}/channels`, body: '<x/>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'WEB_ERR_UNSUPPORTED_MEDIA_TYPE' },
      { name: 'number for a string', method: 'POST', url: `${api}/channels`, body: { title: 5, broadcaster: 'b' }, status: 400, code: 'WEB_ERR_VALIDATION', match: /body\/title/ },
      { name: 'array body', method: 'POST', url: `${api}/channels`, body: [1, 2], status: 400, code: 'WEB_ERR_VALIDATION', match: /object/ },
      { name: 'title too long', method: 'POST', url: `${api}/channels`, body: { title: 'x'.repeat(121), broadcaster: 'b' }, status: 400, code: 'WEB_ERR_VALIDATION', match: /body\/title/ },
      { name: 'empty broadcaster', method: 'POST', url: `${api}/channels`, body: { title: 't', broadcaster: '' }, status: 400, code: 'WEB_ERR_VALIDATION', match: /body\/broadcaster/ },
      { name: 'extra property', method: 'POST', url: `${api}/channels`, body: { title: 't', broadcaster: 'b', admin: true }, status: 400, code: 'WEB_ERR_VALIDATION', match: /additional properties: "admin"/ },
      { name: 'extra property on join', method: 'POST', url: `${api}/channels/1/join`, body: { unit: 'a' }, status: 400, code: 'WEB_ERR_VALIDATION', match: /additional/ },
      { name: 'publisherKey a number', method: 'POST', url: `${api}/channels/1/end`, body: { publisherKey: 7 }, status: 400, code: 'WEB_ERR_VALIDATION', match: /publisherKey/ },
      { name: 'id not a number', method: 'GET', url: `${api}/channels/abc`, status: 400, code: 'WEB_ERR_VALIDATION', match: /params\/id/ },
      { name: 'id 1.5', method: 'POST', url: `${api}/channels/1.5/join`, body: {}, status: 400, code: 'WEB_ERR_VALIDATION', match: /params\/id/ },
      { name: 'id past 2^31-1', method: 'GET', url: `${api}/channels/2147483648`, status: 400, code: 'WEB_ERR_VALIDATION', match: /params\/id/ },
      { name: 'huge id (60 digits)', method: 'GET', url: `${api}/channels/${'9'.repeat(60)}`, status: 400, code: 'WEB_ERR_VALIDATION', match: /params\/id/ },
      { name: 'huge id (5000 digits, past the router limit)', method: 'POST', url: `${api}/channels/${'9'.repeat(5000)}/join`, body: {}, status: 414, code: 'WEB_ERR_URL_TOO_LONG' },
      { name: 'malformed URL', method: 'GET', url: `${api}/channels/%zz`, status: 400, code: 'WEB_ERR_BAD_REQUEST' },
      { name: 'unknown API route', method: 'GET', url: `${api}/nothing-here`, status: 404, code: 'WEB_ERR_NOT_FOUND' },
      { name: 'unknown API version', method: 'GET', url: `${web.url}/api/v2/channels`, status: 404, code: 'WEB_ERR_NOT_FOUND' },
      { name: 'unknown method', method: 'DELETE', url: `${api}/channels/1`, status: 404, code: 'WEB_ERR_NOT_FOUND' },
      { name: 'no such page', method: 'GET', url: `${web.url}/no-such-page.html`, status: 404, code: 'WEB_ERR_NOT_FOUND' },
      { name: 'path traversal', method: 'GET', url: `${web.url}/..%2f..%2fpackage.json`, status: 404, code: 'WEB_ERR_NOT_FOUND' },
      { name: 'pages not built', method: 'GET', url: `${web.url}/`, status: 503, code: 'WEB_ERR_PAGES_NOT_BUILT', match: /npm run build/ },
    ];
    for (const c of cases) {
      const answer = await http<ErrorBody>(c.method, c.url, c.body, c.headers);
      assert.equal(answer.status, c.status, `${c.name}: ${answer.text.slice(0, 300)}`);
      assert.equal(answer.body.code, c.code, c.name);
      assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'message', 'retryable'], c.name);
      assert.ok(answer.body.message.length <= 400, `${c.name}: the message does not echo the whole request`);
      if (c.match) assert.match(answer.body.message, c.match, c.name);
    }
    await assertHealthy();
  });

  it('survives a body that lies about its length, a connection cut mid-body, and requests that are not HTTP', async () => {
    const head = (length: number): string => `POST /api/v1/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const huge = await rawRequest(web.url, `${head(10_000_000)}{"title":`);
    assert.match(huge, /^HTTP\/1\.1 413/);
    const { hostname, port } = new URL(web.url);
    const cut = connect(Number(port), hostname);
    await new Promise<void>((resolve) => cut.on('connect', () => resolve()));
    cut.write(`${head(100)}{"title":"t"`);
    cut.destroy();
    const garbage = await rawRequest(web.url, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.match(garbage, /"code":"WEB_ERR_BAD_REQUEST"/);
    const headers = await rawRequest(web.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(headers, /^HTTP\/1\.1 431/);
    assert.match(headers, /"code":"WEB_ERR_HEADERS_TOO_LARGE"/);
    await assertHealthy();
  });

  it('answers 429 WEB_ERR_RATE_LIMITED past the per-address limit, and keeps /healthz open', async () => {
    limited = await startWeb(`http://127.0.0.1:${await freePort()}`, { ONAIR_WEB_RATE_LIMIT_PER_MINUTE: '5' });
    for (let i = 0; i < 5; i++) assert.equal((await http('GET', `${limited.url}/api/v1/channels`)).status, 200);
    const refused = await http<ErrorBody>('GET', `${limited.url}/api/v1/channels`);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'WEB_ERR_RATE_LIMITED');
    assert.equal(refused.body.retryable, true);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await http('GET', `${limited.url}/healthz`)).status, 200);
  });

  it('stops on SIGTERM with exit code 0 and frees its port', async () => {
    assert.ok(limited, 'the previous test started it');
    limited.process.kill('SIGTERM');
    assert.equal(await limited.process.exited, 0);
    await assert.rejects(http('GET', `${limited.url}/healthz`));
  });
});
