/** Unit configuration and the `onair unit` flags. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../protocol/config.js';
import { DEV_CLUSTER_SECRET, advertisedAddress, loadUnitConfig } from '../../streaming-unit/config.js';
import { parseHostPort, parseUnitArgs } from '../../streaming-unit/main.js';

const isConfigError = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

describe('unit config', () => {
  it('has the documented defaults and is frozen', () => {
    const config = loadUnitConfig({ overrides: { unitId: 'u1' } });
    assert.deepEqual(config, {
      unitId: 'u1',
      host: '127.0.0.1',
      port: 7101,
      csmHost: '127.0.0.1',
      csmControlPort: 7001,
      clusterSecret: DEV_CLUSTER_SECRET,
      groupsPerUnit: 50,
      groupSize: 10,
      reconnectMinMs: 200,
      reconnectMaxMs: 5000,
      ticketPublicJwk: '',
      allowedOrigins: '',
      maxConnectionsPerIp: 64,
      udpMaxSessions: 1000,
      udpPort: 0,
      fanoutBatchMs: 10,
      logLevel: 'info',
    });
    assert.ok(Object.isFrozen(config));
  });

  it('requires unitId and says where to set it', () => {
    assert.throws(() => loadUnitConfig(), isConfigError(/unitId is required.*--id.*ONAIR_UNIT_UNIT_ID/));
  });

  it('reads ONAIR_UNIT_* from the environment, converting numbers; flags win over env, env over file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-unit-'));
    try {
      const file = join(dir, 'unit.json');
      writeFileSync(file, JSON.stringify({ unitId: 'from-file', groupSize: 4, groupsPerUnit: 8 }));
      const config = loadUnitConfig({
        file,
        env: { ONAIR_UNIT_UNIT_ID: 'from-env', ONAIR_UNIT_PORT: '0', ONAIR_UNIT_GROUP_SIZE: '5', ONAIR_UNIT_CLUSTER_SECRET: 's3cret' },
        overrides: { unitId: 'from-flag' },
      });
      assert.equal(config.unitId, 'from-flag');
      assert.equal(config.port, 0);
      assert.equal(config.groupSize, 5);
      assert.equal(config.groupsPerUnit, 8);
      assert.equal(config.clusterSecret, 's3cret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown keys, bad values and an inverted backoff range', () => {
    assert.throws(() => loadUnitConfig({ overrides: { unitId: 'u1', bogus: 1 } as never }), isConfigError(/invalid configuration/));
    assert.throws(() => loadUnitConfig({ overrides: { unitId: 'u 1' } }), isConfigError(/unitId/));
    assert.throws(() => loadUnitConfig({ overrides: { unitId: 'u1', groupSize: 0 } }), isConfigError(/groupSize/));
    assert.throws(() => loadUnitConfig({ overrides: { unitId: 'u1', advertiseAddress: 'http://x' } }), isConfigError(/advertiseAddress/));
    assert.throws(() => loadUnitConfig({ overrides: { unitId: 'u1', reconnectMinMs: 900, reconnectMaxMs: 100 } }), isConfigError(/reconnectMinMs/));
  });

  it('advertises ws://host:boundPort unless told otherwise', () => {
    assert.equal(advertisedAddress({ host: '127.0.0.1' }, 40001), 'ws://127.0.0.1:40001');
    assert.equal(advertisedAddress({ host: '::1' }, 40001), 'ws://[::1]:40001');
    assert.equal(advertisedAddress({ host: '0.0.0.0', advertiseAddress: 'wss://unit7.example.net/' }, 40001), 'wss://unit7.example.net');
  });
});

describe('onair unit flags', () => {
  it('maps flags to config overrides', () => {
    const parsed = parseUnitArgs(['--id', 'u3', '--host', '0.0.0.0', '--port', '0', '--csm', '198.18.0.10:7001', '--groups', '20', '--group-size', '5', '--secret', 's', '--config', 'x.json']);
    assert.deepEqual(parsed, {
      help: false,
      file: 'x.json',
      overrides: { unitId: 'u3', host: '0.0.0.0', port: 0, csmHost: '198.18.0.10', csmControlPort: 7001, groupsPerUnit: 20, groupSize: 5, clusterSecret: 's' },
    });
    assert.equal(parseUnitArgs(['-h']).help, true);
  });

  it('parses --csm forms and refuses bad input with a ConfigError', () => {
    assert.deepEqual(parseHostPort('[::1]:7001'), { host: '::1', port: 7001 });
    assert.deepEqual(parseHostPort(':7001'), { port: 7001 });
    assert.throws(() => parseHostPort('localhost'), isConfigError(/HOST:PORT/));
    assert.throws(() => parseUnitArgs(['--port', 'abc']), isConfigError(/--port/));
    assert.throws(() => parseUnitArgs(['--nope']), isConfigError(/nope/));
    assert.throws(() => parseUnitArgs(['stray']), isConfigError(/stray/));
  });
});
