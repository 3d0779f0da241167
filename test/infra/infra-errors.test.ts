/** Every infra error code (keepalived renderer, lab) is documented in infra/README.md. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { INFRA_ERRORS, InfraError } from '../../infra/errors.js';

const readme = readFileSync(new URL('../../../infra/README.md', import.meta.url), 'utf8');

describe('infra error catalogue', () => {
  it('documents every code in infra/README.md', () => {
    assert.deepEqual(Object.keys(INFRA_ERRORS).filter((code) => !readme.includes(`| \`${code}\` |`)), []);
  });

  it('carries the code and the message with the detail', () => {
    const error = new InfraError('LAB_ERR_NO_SUCH_HOST', 'db');
    assert.equal(error.code, 'LAB_ERR_NO_SUCH_HOST');
    assert.equal(error.message, `${INFRA_ERRORS.LAB_ERR_NO_SUCH_HOST}: db`);
  });
});
