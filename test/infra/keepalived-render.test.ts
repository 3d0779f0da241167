/**
 * The keepalived renderer: the settings are in the rendered text (read back with a small parser, no
 * golden file), bad configs are refused by the schema and its rules, the real keepalived accepts the
 * file (`keepalived --config-test`), and `onair keepalived render` prints the same text.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { parseKeepalivedConfig, type KeepalivedConfigInput } from '../../infra/keepalived/config.js';
import { CHECK_SCRIPT, NOTIFY_SCRIPT, renderKeepalivedConf } from '../../infra/keepalived/render.js';
import { installKeepalivedScripts, scriptPathProblems } from '../../infra/keepalived/scripts.js';
import { which } from '../../infra/lab/system.js';
import { inLabRange, parseLabOptions } from '../../infra/lab/topology.js';
import { find, has, parseKeepalivedText, value } from './keepalived-conf.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));

/** a scratch directory keepalived's script security accepts: root-owned, 0755, under /run */
const scratch = `/run/onair-test-render-${randomBytes(4).toString('hex')}`;
after(() => rmSync(scratch, { recursive: true, force: true }));

const hostA: KeepalivedConfigInput = {
  routerId: 'csm-a',
  interface: 'eth0',
  priority: 150,
  advertIntSeconds: 0.2,
  unicastSrcIp: '198.18.0.11',
  unicastPeers: ['198.18.0.12'],
  virtualIps: [{ address: '198.18.0.10', prefix: 24 }],
  health: { url: 'http://127.0.0.1:7000/healthz', intervalSeconds: 1, timeoutSeconds: 2, fall: 3, rise: 2 },
  csmCtl: { command: ['/usr/bin/node', '/opt/onair/bin/onair.js'], envFile: '/etc/onair/csm.env' },
  scriptsDir: `${scratch}/scripts`,
};

describe('renderKeepalivedConf', () => {
  const text = renderKeepalivedConf(hostA);
  const conf = parseKeepalivedText(text);
  const instance = find(conf, 'vrrp_instance', 'ONAIR_CSM').children!;

  it('starts BACKUP with nopreempt, this host priority, VRRPv3 for a sub-second advert', () => {
    assert.equal(value(instance, 'state'), 'BACKUP');
    assert.ok(has(instance, 'nopreempt'));
    assert.ok(!has(instance, 'preempt'), 'no preempt keyword');
    assert.equal(value(instance, 'priority'), '150');
    assert.equal(value(instance, 'advert_int'), '0.2');
    assert.equal(value(instance, 'version'), '3');
    assert.equal(value(instance, 'interface'), 'eth0');
    assert.equal(value(instance, 'virtual_router_id'), '51');
  });

  it('talks unicast to its peer only, with no authentication block', () => {
    assert.equal(value(instance, 'unicast_src_ip'), '198.18.0.11');
    assert.deepEqual(find(instance, 'unicast_peer').children!.map((n) => n.keyword), ['198.18.0.12']);
    assert.ok(has(instance, 'check_unicast_src'));
    assert.ok(!has(instance, 'authentication'));
    assert.deepEqual(find(instance, 'virtual_ipaddress').children!.map((n) => [n.keyword, ...n.args].join(' ')), ['198.18.0.10/24 dev eth0']);
  });

  it('tracks the local CSM /healthz with the check script (weight 0: FAULT on failure)', () => {
    const script = find(conf, 'vrrp_script', 'onair_csm_health').children!;
    assert.equal(value(script, 'script'), `${scratch}/scripts/${CHECK_SCRIPT} http://127.0.0.1:7000/healthz 2`);
    assert.equal(value(script, 'interval'), '1');
    assert.equal(value(script, 'timeout'), '2');
    assert.equal(value(script, 'fall'), '3');
    assert.equal(value(script, 'rise'), '2');
    assert.equal(value(script, 'weight'), '0');
    assert.deepEqual(find(instance, 'track_script').children!.map((n) => n.keyword), ['onair_csm_health']);
  });

  it('calls csm-ctl promote on MASTER and demote on BACKUP, FAULT and STOP', () => {
    const expected = { notify_master: ['MASTER', 'promote'], notify_backup: ['BACKUP', 'demote'], notify_fault: ['FAULT', 'demote'], notify_stop: ['STOP', 'demote'] };
    for (const [keyword, [event, action]] of Object.entries(expected)) {
      const words = value(instance, keyword).split(' ');
      assert.equal(words[0], `${scratch}/scripts/${NOTIFY_SCRIPT}`, keyword);
      assert.equal(words[words.indexOf('--action') + 1], action, keyword);
      assert.equal(words[words.indexOf('--event') + 1], event, keyword);
      assert.equal(words[words.indexOf('--url') + 1], 'http://127.0.0.1:7000', keyword);
      assert.equal(words[words.indexOf('--env-file') + 1], '/etc/onair/csm.env', keyword);
      assert.deepEqual(words.slice(words.indexOf('--') + 1), ['/usr/bin/node', '/opt/onair/bin/onair.js'], keyword);
    }
  });

  it('runs scripts as root under enable_script_security', () => {
    const global = find(conf, 'global_defs').children!;
    assert.ok(has(global, 'enable_script_security'));
    assert.equal(value(global, 'script_user'), 'root');
    assert.equal(value(global, 'router_id'), 'csm-a');
  });

  it('writes whole-second adverts plainly and keeps VRRPv3 by default', () => {
    const plain = find(parseKeepalivedText(renderKeepalivedConf({ ...hostA, advertIntSeconds: 1 })), 'vrrp_instance').children!;
    assert.equal(value(plain, 'advert_int'), '1');
    assert.equal(value(plain, 'version'), '3');
    const v2 = find(parseKeepalivedText(renderKeepalivedConf({ ...hostA, advertIntSeconds: 2, vrrpVersion: 2 })), 'vrrp_instance').children!;
    assert.equal(value(v2, 'version'), '2');
  });
});

describe('the keepalived config schema', () => {
  const refuses = (change: Record<string, unknown>, pattern: RegExp): void => {
    assert.throws(() => parseKeepalivedConfig({ ...hostA, ...change }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'KEEPALIVED_ERR_INVALID_CONFIG');
      assert.match(error.message, pattern);
      return true;
    });
  };

  it('accepts the example and fills the defaults', () => {
    const config = parseKeepalivedConfig({ ...hostA, csmCtl: undefined, health: undefined });
    assert.equal(config.instanceName, 'ONAIR_CSM');
    assert.equal(config.health.url, 'http://127.0.0.1:7000/healthz');
    assert.equal(config.csmCtl.attempts, 5);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.health));
  });

  it('refuses bad addresses', () => {
    refuses({ unicastSrcIp: '198.18.0.256' }, /unicastSrcIp/);
    refuses({ unicastPeers: ['198.18.0'] }, /unicastPeers/);
    refuses({ virtualIps: [{ address: 'vip', prefix: 24 }] }, /virtualIps/);
    refuses({ virtualIps: [{ address: '198.18.0.10', prefix: 33 }] }, /prefix/);
  });

  it('refuses priorities out of 1..254 (255 is the address owner, which always preempts)', () => {
    for (const priority of [0, 255, 300, 1.5]) refuses({ priority }, /priority/);
  });

  it('refuses a sub-second advert with VRRPv2, and sub-centisecond ones', () => {
    refuses({ advertIntSeconds: 0.2, vrrpVersion: 2 }, /needs vrrpVersion 3/);
    refuses({ advertIntSeconds: 0.005 }, /advertIntSeconds/);
    refuses({ advertIntSeconds: 0.123 }, /centiseconds/);
    refuses({ advertIntSeconds: 41 }, /40\.95/);
  });

  it('refuses peers and VIPs that are this host, a remote health URL, unknown keys, unsafe paths', () => {
    refuses({ unicastPeers: ['198.18.0.11'] }, /unicastPeers must not contain this host/);
    refuses({ virtualIps: [{ address: '198.18.0.12', prefix: 24 }] }, /own address/);
    refuses({ health: { url: 'http://198.18.0.11:7000/healthz' } }, /health\/url/);
    refuses({ vrrp_strict: true }, /vrrp_strict|additional|unknown|not allowed|propert/i);
    refuses({ scriptsDir: '/etc/keepalived/my scripts' }, /scriptsDir/);
    refuses({ csmCtl: { command: ['node; rm -rf /'] } }, /command/);
    refuses({ health: { intervalSeconds: 0.5 } }, /intervalSeconds/);
  });

  it('keeps the lab inside 198.18.0.0/15', () => {
    assert.ok(inLabRange('198.18.0.10') && inLabRange('198.19.255.1'));
    assert.ok(!inLabRange('198.20.0.10') && !inLabRange('10.0.0.1') && !inLabRange('198.18.0'));
    for (const network of ['10.0.0', '198.20.0', '198.18.256', '198.18.0.0']) {
      assert.throws(() => parseLabOptions({ network }, { id: 'x', operatorPassword: 'password' }), { code: 'LAB_ERR_BAD_OPTIONS' });
    }
    assert.equal(parseLabOptions({ network: '198.19.7' }, { id: 'x', operatorPassword: 'password' }).network, '198.19.7');
  });
});

describe('keepalived itself', () => {
  it('accepts the rendered file (keepalived --config-test), and the check is real', async () => {
    const KEEPALIVED: string = (await which('keepalived')) ?? assert.fail('keepalived is not installed (test/run.sh installs it)');
    mkdirSync(scratch, { recursive: true, mode: 0o755 });
    installKeepalivedScripts(`${scratch}/scripts`);
    assert.deepEqual(scriptPathProblems(`${scratch}/scripts`), []);
    for (const advertIntSeconds of [1, 0.2]) {
      const file = `${scratch}/keepalived-${advertIntSeconds}.conf`;
      writeFileSync(file, renderKeepalivedConf({ ...hostA, advertIntSeconds }));
      const { stderr } = await run(KEEPALIVED, ['--config-test', '-f', file], { timeout: 20_000 });
      assert.equal(stderr.trim(), '', `keepalived --config-test complained about advert ${advertIntSeconds}`);
    }
    // the same check fails on a broken file, so the pass above means something
    const broken = `${scratch}/broken.conf`;
    writeFileSync(broken, renderKeepalivedConf(hostA).replace('advert_int 0.2', 'advert_int 0.2\n    version 2'));
    await assert.rejects(run(KEEPALIVED, ['--config-test', '-f', broken], { timeout: 20_000 }), (error: Error & { code?: number; stderr?: string }) => {
      assert.notEqual(error.code, 0);
      assert.match(error.stderr ?? '', /version 2 conflicts|must be an integer/);
      return true;
    });
  });
});

describe('onair keepalived render', () => {
  it('prints the rendered file for --config, refuses a bad one with its code', async () => {
    mkdirSync(scratch, { recursive: true, mode: 0o755 });
    const good = `${scratch}/host-a.json`;
    writeFileSync(good, JSON.stringify(hostA));
    const { stdout } = await run(process.execPath, [cli, 'keepalived', 'render', '--config', good], { timeout: 30_000 });
    assert.equal(stdout, renderKeepalivedConf(hostA));
    const bad = `${scratch}/bad.json`;
    writeFileSync(bad, JSON.stringify({ ...hostA, priority: 255 }));
    await assert.rejects(run(process.execPath, [cli, 'keepalived', 'render', '--config', bad], { timeout: 30_000 }), (error: Error & { stderr?: string }) => {
      assert.match(error.stderr ?? '', /KEEPALIVED_ERR_INVALID_CONFIG: .*priority/);
      return true;
    });
  });
});
