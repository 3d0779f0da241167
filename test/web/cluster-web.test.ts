/**
 * `onair cluster` starts a web server too: the site's URL comes first in what it prints, the site
 * answers and reaches the CSM, and Ctrl-C stops it with the rest.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { OpenChannelResult } from '../../protocol/service-api.js';
import type { WebChannelList } from '../../protocol/web-api.js';
import { freePort, freePortBlock, portOpen } from '../support/free-port.js';
import { stopWithCtrlC, waitFor } from '../support/processes.js';
import { http } from './web-process.js';

const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));

describe('onair cluster with the web server', () => {
  it('prints the site first, serves it in front of the CSM, and stops it on SIGINT', async (t) => {
    // The CSM (HTTP, control), the unit and the console at fixed offsets from --port; the site on a port of its own.
    const base = await freePortBlock([0, 1, 101, 1090]);
    const webPort = await freePort();
    const child = spawn(process.execPath, [cli, 'cluster', '--units', '1', '--port', String(base), '--web-port', String(webPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => stopWithCtrlC(child));
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    await waitFor('the summary line', () => lines.some((l) => l.startsWith('units 1/1 up')), 30_000);

    const site = `http://127.0.0.1:${webPort}`;
    const up = lines.indexOf('OnAir cluster is up');
    assert.ok(up >= 0);
    assert.match(lines[up + 1] ?? '', new RegExp(`^\\s+site\\s+${site.replace(/[.]/g, '\\.')}\\s`), 'the site is the first URL');

    const health = await http<{ ok: boolean; csm: string }>('GET', `${site}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.ok, true);
    await waitFor('the web server to reach the CSM', async () => (await http<{ csm: string }>('GET', `${site}/healthz`)).body.csm === 'reachable');
    const home = await http('GET', `${site}/`);
    assert.ok([200, 503].includes(home.status), 'the home page, or WEB_ERR_PAGES_NOT_BUILT while the pages are not built');
    const opened = await http<OpenChannelResult>('POST', `${site}/api/v1/channels`, { title: 'from the site', broadcaster: 'cluster-test' });
    assert.equal(opened.status, 201, opened.text);
    const listed = await http<WebChannelList>('GET', `${site}/api/v1/channels`);
    assert.equal(listed.body.channels[0]?.title, 'from the site');

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0);
    for (const port of [webPort, base, base + 101]) assert.equal(await portOpen(port), false, `port ${port} still open after Ctrl-C`);
  });
});
