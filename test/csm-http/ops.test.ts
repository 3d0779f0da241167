import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
// fastify's own injector (what app.inject() uses), called on app.routing so a request can still be
// made after close() has begun, which app.inject() refuses.
import inject from 'light-my-request';
import { ALICE, harness } from './harness.js';

/** Every route of the API: [method, OpenAPI path, tag]. */
const ROUTES = [
  ['get', '/healthz', 'ops'],
  ['get', '/metrics', 'ops'],
  ['post', '/api/v1/channels', 'service'],
  ['get', '/api/v1/channels', 'service'],
  ['get', '/api/v1/channels/{id}', 'service'],
  ['post', '/api/v1/channels/{id}/join', 'service'],
  ['post', '/api/v1/channels/{id}/publish', 'service'],
  ['post', '/api/v1/channels/{id}/end', 'service'],
  ['get', '/admin/v1/cluster', 'admin'],
  ['get', '/admin/v1/units', 'admin'],
  ['get', '/admin/v1/units/{unitId}', 'admin'],
  ['post', '/admin/v1/units/{unitId}/evacuate', 'admin'],
  ['post', '/admin/v1/units/{unitId}/capacity', 'admin'],
  ['post', '/admin/v1/units/{unitId}/drain', 'admin'],
  ['post', '/admin/v1/units/{unitId}/resume', 'admin'],
  ['delete', '/admin/v1/units/{unitId}', 'admin'],
  ['get', '/admin/v1/channels', 'admin'],
  ['get', '/admin/v1/channels/{id}', 'admin'],
  ['get', '/admin/v1/channels/{id}/tree', 'admin'],
  ['get', '/admin/v1/channels/{id}/groups', 'admin'],
  ['post', '/admin/v1/channels/{id}/expand', 'admin'],
  ['post', '/admin/v1/channels/{id}/shrink', 'admin'],
  ['delete', '/admin/v1/channels/{id}', 'admin'],
  ['get', '/admin/v1/groups', 'admin'],
  ['get', '/admin/v1/events', 'admin'],
] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every "$ref" in the document, wherever it is */
function refs(node: Json, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refs(item, found);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}

describe('CSM HTTP: ops, docs and errors', () => {
  it('serves /healthz: 200 when healthy, 503 when not, with the detail', async () => {
    let state = { ok: true, detail: { links: 3 } as Record<string, unknown> };
    const { app } = await harness({ health: () => state });
    const up = await app.inject({ url: '/healthz' });
    assert.equal(up.statusCode, 200);
    assert.deepEqual(up.json(), { ok: true, detail: { links: 3 } });
    state = { ok: false, detail: { reason: 'heartbeat loop stale', lagMs: 4200 } };
    const down = await app.inject({ url: '/healthz' });
    assert.equal(down.statusCode, 503);
    assert.deepEqual(down.json(), { ok: false, detail: { reason: 'heartbeat loop stale', lagMs: 4200 } });
    await app.close();
  });

  it("serves /metrics in the registry's format, including the HTTP request histogram", async () => {
    const { app, registry } = await harness();
    await app.inject({ url: '/api/v1/channels' });
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], registry.contentType);
    assert.match(res.body, /onair_csm_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/channels",status="200"\} 1/);
    await app.close();
  });

  it('publishes a valid OpenAPI document at /docs/json listing every route, and Swagger UI at /docs', async () => {
    const { app } = await harness();
    const res = await app.inject({ url: '/docs/json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    assert.deepEqual(doc.tags.map((t: { name: string }) => t.name).sort(), ['admin', 'ops', 'service']);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['operator', 'serviceToken']);

    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    assert.deepEqual(listed.sort(), ROUTES.map(([method, path]) => `${method} ${path}`).sort());
    for (const [method, path, tag] of ROUTES) {
      const op = doc.paths[path][method];
      assert.deepEqual(op.tags, [tag], `${method} ${path}`);
      assert.equal(typeof op.summary, 'string');
      const statuses = Object.keys(op.responses);
      assert.ok(statuses.length > 0 && statuses.every((s) => /^[1-5][0-9][0-9]$/.test(s)), `${method} ${path}: ${statuses}`);
      assert.ok(statuses.some((s) => s.startsWith('2')), `${method} ${path} documents its success`);
      for (const [status, response] of Object.entries(op.responses as Record<string, { description?: unknown }>)) {
        assert.equal(typeof response.description, 'string', `${method} ${path} ${status}`);
      }
      // every path template parameter is declared as a required path parameter
      for (const name of path.match(/\{(\w+)\}/g)?.map((p) => p.slice(1, -1)) ?? []) {
        assert.ok(op.parameters?.some((p: { in: string; name: string; required: boolean }) => p.in === 'path' && p.name === name && p.required), `${method} ${path} declares ${name}`);
      }
      if (tag === 'admin') assert.deepEqual(op.security, [{ operator: [] }]);
      if (method === 'post') assert.ok(op.requestBody?.content?.['application/json']?.schema, `${method} ${path} documents its body`);
    }
    assert.equal(doc.paths['/admin/v1/events'].get.parameters.find((p: { name: string }) => p.name === 'kind').in, 'query');
    // every reference resolves inside the document
    for (const ref of refs(doc)) {
      assert.match(ref, /^#\//, ref);
      const target = ref.slice(2).split('/').reduce((node: Json | undefined, key) => (node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined), doc as Json);
      assert.ok(target, `unresolved ${ref}`);
    }
    assert.ok(doc.components.schemas.TreeNode);

    const ui = await app.inject({ url: '/docs' });
    assert.equal(ui.statusCode, 200);
    assert.match(String(ui.headers['content-type']), /text\/html/);
    await app.close();
  });

  it('answers 500 CSM_ERR_INTERNAL for unexpected failures, logging the error but not leaking it', async () => {
    const { app, logs, eventLog } = await harness();
    // The event log failing (e.g. a corrupt entry) is an unexpected failure of a read route.
    eventLog.query = async () => {
      throw new Error('disk on fire at /var/lib/secret');
    };
    const res = await app.inject({ method: 'GET', url: '/admin/v1/events', headers: ALICE });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { code: 'CSM_ERR_INTERNAL', message: 'internal error', retryable: true });
    assert.doesNotMatch(res.body, /fire|secret|at /);
    const logged = logs.find((line) => line['level'] === 50);
    assert.ok(logged, 'the failure is logged at error level');
    assert.match(JSON.stringify(logged), /disk on fire/);
    await app.close();
  });

  it('answers 503 CSM_ERR_CLOSING with Retry-After while the server is closing', async () => {
    const { app } = await harness();
    await app.close();
    for (const url of ['/healthz', '/api/v1/channels', '/admin/v1/cluster', '/nowhere']) {
      const res = await inject(app.routing, { url, headers: ALICE });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(res.json(), { code: 'CSM_ERR_CLOSING', message: 'the CSM is shutting down', retryable: true });
    }
  });

  it('answers unknown routes and methods with 404 CSM_ERR_NOT_FOUND', async () => {
    const { app } = await harness();
    for (const [method, url] of [['GET', '/'], ['GET', '/admin/v2/cluster'], ['PUT', '/api/v1/channels'], ['GET', '/api/v1/channels/1/nothing']] as const) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().code, 'CSM_ERR_NOT_FOUND');
      assert.equal(res.json().retryable, false);
    }
    await app.close();
  });
});
