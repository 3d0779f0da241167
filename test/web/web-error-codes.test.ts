/**
 * The web server's catalogue (web/server/errors.ts) is documented like the others: every WEB_ERR_*
 * code in the README's "Error codes" table with the status the catalogue gives it. (The same check as
 * test/docs/error-codes.test.ts makes for the CSM's codes; it can move there.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WebErrors } from '../../web/server/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('web error catalogue', () => {
  it('documents each WEB_ERR_* code in the README with its status', () => {
    for (const [code, entry] of Object.entries(WebErrors)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      assert.ok(row, `${code} is not in the README's error table`);
      assert.ok(row.includes(`| ${entry.status} |`), `${code} should be documented with status ${entry.status}`);
    }
  });

  it('gives each code a message, and a retryable flag that matches its status', () => {
    for (const [code, entry] of Object.entries(WebErrors)) {
      assert.ok(entry.message.length > 0, code);
      // Of the client errors only "too many" and "too slow" go away by sending the same request again.
      if (entry.status >= 400 && entry.status < 500) assert.equal(entry.retryable, entry.status === 408 || entry.status === 429, code);
    }
  });
});
