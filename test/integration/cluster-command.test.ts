/**
 * `onair cluster` (the README's `npm start`): everything comes up — the CSM, two units, the site and
 * the admin console — answers, the console acts on the CSM in the signed-in operator's name, and
 * everything stops on Ctrl-C.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePortBlock, portOpen } from '../support/free-port.js';
import { stopWithCtrlC, waitFor } from '../support/processes.js';

const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));

describe('onair cluster', () => {
  it('starts a CSM, two units, the site and the admin console, prints their URLs and a summary, and stops them all on SIGINT', async (t) => {
    // The CSM (HTTP, control), two units, the site and the console at fixed offsets from --port.
    const base = await freePortBlock([0, 1, 101, 102, 1080, 1090]);
    const child = spawn(process.execPath, [cli, 'cluster', '--port', String(base), '--admin-password', 'pw-for-test'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => stopWithCtrlC(child));
    const lines: string[] = [];
    const errors: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => errors.push(line));
    // Five processes start here; on a machine busy with other tests that can take a while.
    await waitFor('the summary line', () => lines.some((l) => l.startsWith('units 2/2 up')), 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; stdout: ${lines.slice(-10).join(' | ')}; stderr: ${errors.slice(-10).join(' | ')}`);
    });
    assert.ok(lines.includes('OnAir cluster is up'));
    assert.ok(lines.some((l) => l.includes(`http://127.0.0.1:${base}/admin/v1/cluster`)));
    assert.ok(lines.some((l) => l.includes(`ws://127.0.0.1:${base + 101}`)) && lines.some((l) => l.includes(`ws://127.0.0.1:${base + 102}`)));

    const auth = `Basic ${Buffer.from('admin:pw-for-test').toString('base64')}`;
    const summary = (await (await fetch(`http://127.0.0.1:${base}/admin/v1/cluster`, { headers: { authorization: auth } })).json()) as { units: { up: number } };
    assert.equal(summary.units.up, 2);
    for (const port of [base + 101, base + 102]) assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);

    // The console: same operator password; its drain reaches the CSM, which logs the operator via the console.
    const consoleUrl = `http://127.0.0.1:${base + 1090}`;
    assert.ok(lines.some((l) => l.includes(`admin console     ${consoleUrl}`)), 'the console URL is printed');
    const wrong = await fetch(`${consoleUrl}/console/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: 'not-it' }) });
    assert.equal(wrong.status, 401);
    const signIn = await fetch(`${consoleUrl}/console/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', password: 'pw-for-test' }) });
    assert.equal(signIn.status, 200);
    const cookie = String(signIn.headers.get('set-cookie')).split(';')[0]!;
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const drain = await fetch(`${consoleUrl}/console/v1/units/u2/drain`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(drain.status, 200, await drain.text());
    const units = (await (await fetch(`http://127.0.0.1:${base}/admin/v1/units`, { headers: { authorization: auth } })).json()) as { id: string; state: string }[];
    assert.equal(units.find((u) => u.id === 'u2')?.state, 'draining');
    const log = (await (await fetch(`http://127.0.0.1:${base}/admin/v1/events?kind=unit.draining&unitId=u2`, { headers: { authorization: auth } })).json()) as { events: { actor?: string }[] };
    assert.equal(log.events[0]?.actor, 'admin via console');

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0);
    for (const port of [base, base + 1, base + 101, base + 102, base + 1080, base + 1090]) assert.equal(await portOpen(port), false, `port ${port} still open after Ctrl-C`);
  });
});
