/** The UNIT_ERR_* catalogue: every code has a status and a message, and streaming-unit/README.md documents each exactly. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CodedError } from '../../protocol/control-errors.js';
import { UnitError, UnitErrors, type UnitErrorCode } from '../../streaming-unit/errors.js';

// Tests run from dist/test/unit/; the README lives in the source tree.
const readme = readFileSync(new URL('../../../streaming-unit/README.md', import.meta.url), 'utf8');

function documentedRows(): Map<string, { status: number; message: string }> {
  const start = readme.indexOf('\n## Error codes');
  assert.ok(start >= 0, 'streaming-unit/README.md has an "## Error codes" section');
  const rest = readme.slice(start + 1);
  const next = rest.indexOf('\n## ');
  const section = next >= 0 ? rest.slice(0, next) : rest;
  const rows = new Map<string, { status: number; message: string }>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`(UNIT_ERR_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (m) rows.set(m[1]!, { status: Number(m[2]), message: m[3]! });
  }
  return rows;
}

describe('unit error catalogue', () => {
  it('every code has an HTTP status and a message', () => {
    for (const [code, entry] of Object.entries(UnitErrors)) {
      assert.match(code, /^UNIT_ERR_[A-Z_]+$/);
      assert.ok(entry.status >= 400 && entry.status < 600, `${code} status`);
      assert.ok(entry.message.length > 0, `${code} message`);
    }
  });

  it('every code is documented in streaming-unit/README.md with its status and message, and nothing else is', () => {
    const rows = documentedRows();
    for (const [code, entry] of Object.entries(UnitErrors)) {
      const row = rows.get(code);
      assert.ok(row, `${code} is missing from the README's "Error codes" table`);
      assert.equal(row.status, entry.status, `${code} status in the README`);
      assert.equal(row.message, entry.message, `${code} message in the README`);
    }
    assert.deepEqual([...rows.keys()].filter((c) => !(c in UnitErrors)), [], 'README documents codes that do not exist');
  });

  it('UnitError is a CodedError carrying code, status and detail', () => {
    const error = new UnitError('UNIT_ERR_GROUP_TAKEN', 'group 3');
    assert.ok(error instanceof CodedError);
    assert.equal(error.code, 'UNIT_ERR_GROUP_TAKEN' satisfies UnitErrorCode);
    assert.equal(error.status, 409);
    assert.equal(error.message, `${UnitErrors.UNIT_ERR_GROUP_TAKEN.message}: group 3`);
    assert.equal(new UnitError('UNIT_ERR_REMOVED').message, UnitErrors.UNIT_ERR_REMOVED.message);
  });
});
