/**
 * The shipped keepalived scripts on their own, on loopback: the check script against a stand-in
 * /healthz (200, 503, nothing listening, too slow), and the notify script against a stand-in `onair`
 * that records its arguments and the secret it was given.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { shippedScriptsDir } from '../../infra/keepalived/scripts.js';
import { CHECK_SCRIPT, NOTIFY_SCRIPT } from '../../infra/keepalived/render.js';

const dir = `/tmp/onair-test-scripts-${randomBytes(4).toString('hex')}`;
after(() => rmSync(dir, { recursive: true, force: true }));
const check = `${shippedScriptsDir}/${CHECK_SCRIPT}`;
const notify = `${shippedScriptsDir}/${NOTIFY_SCRIPT}`;

/** exit code of a script (never throws) */
function exitCode(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', [file, ...args], { timeout: 20_000, env }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 999) : 0, stderr });
    });
  });
}

describe('onair-csm-check.sh', () => {
  let server: Server;
  let base = '';
  let answer = 200;
  let delayMs = 0;
  before(async () => {
    server = createServer((_request, response) => {
      setTimeout(() => response.writeHead(answer, { 'content-type': 'application/json' }).end('{"ok":true}'), delayMs);
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('is valid POSIX sh', async () => {
    for (const file of [check, notify]) assert.equal((await exitCode('-n', [file])).code, 0, file);
  });

  it('passes on 200, fails on 503, on nothing listening and on a slow answer', async () => {
    answer = 200;
    assert.equal((await exitCode(check, [`${base}/healthz`, '2'])).code, 0);
    answer = 503;
    assert.notEqual((await exitCode(check, [`${base}/healthz`, '2'])).code, 0);
    answer = 200;
    assert.notEqual((await exitCode(check, ['http://127.0.0.1:1/healthz', '2'])).code, 0);
    delayMs = 2500;
    assert.notEqual((await exitCode(check, [`${base}/healthz`, '1'])).code, 0);
    delayMs = 0;
  });

  it('falls back to node when curl is missing', async () => {
    const bin = `${dir}/bin-no-curl`;
    mkdirSync(bin, { recursive: true });
    symlinkSync(process.execPath, `${bin}/node`);
    const env = { ...process.env, PATH: bin };
    answer = 200;
    assert.equal((await exitCode(check, [`${base}/healthz`, '2'], env)).code, 0);
    answer = 503;
    assert.notEqual((await exitCode(check, [`${base}/healthz`, '2'], env)).code, 0);
    assert.equal((await exitCode(check, [`${base}/healthz`, '2'], { ...process.env, PATH: `${dir}/nothing` })).code, 1, 'neither curl nor node');
  });
});

describe('onair-csm-notify.sh', () => {
  const calls = `${dir}/calls.log`;
  const fake = `${dir}/fake-onair.sh`;
  const envFile = `${dir}/csm.env`;
  before(() => {
    mkdirSync(dir, { recursive: true });
    // the stand-in `onair`: records its arguments and the secret; fails while <dir>/fail exists
    writeFileSync(fake, `#!/bin/sh\necho "$* secret=$ONAIR_CSM_CLUSTER_SECRET" >> ${calls}\n[ -f ${dir}/fail ] && exit 3\necho '{"role":"x"}'\n`);
    chmodSync(fake, 0o755);
    writeFileSync(envFile, 'ONAIR_CSM_TICKET_PRIVATE_JWK={"kty":"OKP","crv":"Ed25519"}\nONAIR_CSM_CLUSTER_SECRET="s3cret with spaces"\n', { mode: 0o600 });
  });
  const args = (action: string, event: string, attempts = 1): string[] => [
    '--action', action, '--event', event, '--url', 'http://127.0.0.1:7000', '--env-file', envFile,
    '--state-file', `${dir}/role`, '--log', `${dir}/notify.log`, '--attempts', String(attempts), '--call-timeout', '2', '--', fake, 'csm-a',
  ];

  it('calls `onair csm-ctl <action>` with the secret from the env file, and logs it', async () => {
    assert.equal((await exitCode(notify, args('promote', 'MASTER'))).code, 0);
    assert.equal((await exitCode(notify, args('demote', 'FAULT'))).code, 0);
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'csm-a csm-ctl promote --url http://127.0.0.1:7000 --timeout-ms 2000 --reason keepalived MASTER secret=s3cret with spaces',
      'csm-a csm-ctl demote --url http://127.0.0.1:7000 --timeout-ms 2000 --reason keepalived FAULT secret=s3cret with spaces',
    ]);
    const log = readFileSync(`${dir}/notify.log`, 'utf8');
    assert.match(log, /event=MASTER action=promote ok \(try 1\)/);
    assert.match(log, /event=FAULT action=demote ok \(try 1\)/);
  });

  it('tries a failing call again, and a later transition supersedes an earlier one', async () => {
    writeFileSync(`${dir}/fail`, '');
    writeFileSync(calls, '');
    const first = exitCode(notify, args('promote', 'MASTER', 10));
    // let the first one fail once, then a newer transition arrives
    for (let i = 0; i < 100 && !readFileSync(calls, 'utf8').includes('promote'); i++) await new Promise((r) => setTimeout(r, 50));
    rmSync(`${dir}/fail`);
    const second = await exitCode(notify, args('demote', 'BACKUP'));
    assert.equal(second.code, 0);
    assert.equal((await first).code, 0, 'the superseded call gives up quietly');
    const log = readFileSync(`${dir}/notify.log`, 'utf8');
    assert.match(log, /event=MASTER action=promote failed \(try 1 of 10\)/);
    assert.match(log, /event=MASTER action=promote superseded by a later transition/);
    const recorded = readFileSync(calls, 'utf8').trim().split('\n');
    assert.match(recorded.at(-1)!, /csm-ctl demote/, 'the latest transition is the last call');
  });

  it('refuses bad arguments', async () => {
    assert.equal((await exitCode(notify, ['--action', 'reboot', '--url', 'x', '--', fake])).code, 2);
    assert.equal((await exitCode(notify, ['--action', 'promote', '--url', 'x'])).code, 2);
  });
});
