/** The unit's memory tuning is declared once (protocol/unit-process-env.ts); the systemd unit must carry the same. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { UNIT_MEMORY_ENV, UNIT_NODE_OPTIONS, unitProcessEnv } from '../../protocol/unit-process-env.js';

describe('unit process environment', () => {
  it('is what the systemd unit sets', () => {
    const service = readFileSync(new URL('../../../infra/systemd/onair-unit@.service', import.meta.url), 'utf8');
    const line = service.split('\n').find((l) => l.startsWith('Environment=MALLOC'));
    assert.ok(line, 'an Environment= line with the memory tuning');
    for (const [key, value] of Object.entries(UNIT_MEMORY_ENV)) assert.ok(line.includes(`${key}=${value}`), key);
    assert.ok(line.includes(`NODE_OPTIONS=${UNIT_NODE_OPTIONS}`));
  });

  it('keeps the caller environment and appends to NODE_OPTIONS once', () => {
    const env = unitProcessEnv({ PATH: '/bin', NODE_OPTIONS: '--enable-source-maps', MALLOC_TRIM_THRESHOLD_: '1', UNSET: undefined });
    assert.equal(env.PATH, '/bin');
    assert.equal(env.MALLOC_TRIM_THRESHOLD_, '1', 'an operator setting wins');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, UNIT_MEMORY_ENV.MALLOC_MMAP_THRESHOLD_);
    assert.equal(env.NODE_OPTIONS, `--enable-source-maps ${UNIT_NODE_OPTIONS}`);
    assert.equal(unitProcessEnv(env).NODE_OPTIONS, env.NODE_OPTIONS, 'not twice');
    assert.equal('UNSET' in env, false);
  });
});
