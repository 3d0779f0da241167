/**
 * The site's pages and the OpenAPI document, through the web server's HTTP part (buildWebHttp with
 * fastify.inject; no CSM needed), serving a throw-away pages directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { CsmLink } from '../../web/server/CsmLink.js';
import { buildWebHttp } from '../../web/server/http/buildWebHttp.js';
import { createWebMetrics } from '../../web/server/metrics.js';
import { MemoryWebChannelStore } from '../../web/server/store/MemoryWebChannelStore.js';
import { resolvePagesDir } from '../../web/server/config.js';
import { fileURLToPath } from 'node:url';

const PAGES: Record<string, string> = {
  'index.html': '<!doctype html><title>OnAir</title><script type="module" src="home.js"></script>',
  'watch.html': '<!doctype html><title>Watch</title>',
  'broadcast.html': '<!doctype html><title>Broadcast</title>',
  'home.js': 'console.log("home")',
  'style.css': 'body { margin: 0 }',
  '.env': 'SECRET=1',
};

describe('web server: pages and docs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onair-web-pages-'));
  let app: FastifyInstance;

  before(async () => {
    for (const [name, text] of Object.entries(PAGES)) writeFileSync(join(dir, name), text);
    const logger = pino({ level: 'silent' });
    const store = new MemoryWebChannelStore();
    app = await buildWebHttp({
      csm: new CsmLink({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 500 }, logger),
      store,
      metrics: createWebMetrics('web-test', store),
      health: () => ({ ok: true, webId: 'web-test', csm: 'unreachable', lastSyncAt: null, loopStalledMs: 0 }),
      logger,
      rateLimitPerMinute: 1000,
      pagesDir: dir,
    });
  });

  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the home page at / and the other pages, bundles and styles with no-cache and an ETag', async () => {
    const home = await app.inject({ url: '/' });
    assert.equal(home.statusCode, 200);
    assert.equal(home.body, PAGES['index.html']);
    assert.match(String(home.headers['content-type']), /^text\/html/);
    assert.equal(home.headers['cache-control'], 'no-cache');
    for (const [url, type, file] of [
      ['/watch.html', /^text\/html/, 'watch.html'],
      ['/watch', /^text\/html/, 'watch.html'],
      ['/broadcast', /^text\/html/, 'broadcast.html'],
      ['/home.js', /javascript/, 'home.js'],
      ['/style.css', /^text\/css/, 'style.css'],
    ] as const) {
      const answer = await app.inject({ url });
      assert.equal(answer.statusCode, 200, url);
      assert.equal(answer.body, PAGES[file], url);
      assert.match(String(answer.headers['content-type']), type, url);
      assert.equal(answer.headers['cache-control'], 'no-cache', url);
      assert.ok(answer.headers.etag, url);
      const again = await app.inject({ url, headers: { 'if-none-match': String(answer.headers.etag) } });
      assert.equal(again.statusCode, 304, `${url} revalidates`);
    }
    assert.equal(home.headers['x-content-type-options'], 'nosniff');
    assert.equal(home.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal((await app.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
  });

  it('hides dotfiles and anything outside the pages directory', async () => {
    for (const url of ['/.env', '/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json']) {
      const answer = await app.inject({ url });
      assert.ok([403, 404].includes(answer.statusCode), `${url}: ${answer.statusCode}`);
      assert.doesNotMatch(answer.body, /SECRET|"name"/, url);
      assert.match(answer.json().code, /^WEB_ERR_/, url);
    }
  });

  it('answers / with WEB_ERR_PAGES_NOT_BUILT while there is no index.html, and serves it once it exists', async () => {
    unlinkSync(join(dir, 'index.html'));
    const missing = await app.inject({ url: '/' });
    assert.equal(missing.statusCode, 503);
    assert.deepEqual(missing.json(), { code: 'WEB_ERR_PAGES_NOT_BUILT', message: 'the pages are not built: run npm run build', retryable: false });
    writeFileSync(join(dir, 'index.html'), PAGES['index.html']!);
    assert.equal((await app.inject({ url: '/' })).statusCode, 200);
  });

  it('serves the OpenAPI document of the browser API at /docs', async () => {
    const ui = await app.inject({ url: '/docs' });
    assert.ok([200, 302].includes(ui.statusCode));
    const doc = (await app.inject({ url: '/docs/json' })).json();
    assert.equal(doc.info.title, 'OnAir web API');
    for (const path of ['/api/v1/channels', '/api/v1/channels/{id}', '/api/v1/channels/{id}/join', '/api/v1/channels/{id}/publish', '/api/v1/channels/{id}/end', '/healthz', '/metrics']) {
      assert.ok(doc.paths[path], path);
    }
    assert.equal(Object.keys(doc.paths).some((p: string) => p.includes('*')), false, 'the pages are not API routes');
  });

  it('finds the built pages beside the compiled module by default', () => {
    assert.equal(resolvePagesDir(''), fileURLToPath(new URL('../../web/public/', import.meta.url)));
    assert.equal(resolvePagesDir('/srv/pages'), '/srv/pages');
  });
});
