import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConsoleErrors } from '../../admin-console/errors.js';
import { CsmErrors } from '../../csm/errors.js';
import { ControlErrorCode, CONTROL_ERROR_MESSAGES } from '../../protocol/control-errors.js';
import { TICKET_ERRORS } from '../../protocol/ticket-errors.js';
import { FRAME_ERRORS } from '../../protocol/media-frame.js';
import { ChunkErrorCode } from '../../protocol/frame-chunks.js';
import { RING_ERRORS } from '../../streaming-unit/media/errors.js';
import { UDP_ERRORS } from '../../streaming-unit/media/udp/errors.js';
import { MEDIA_CLOSE } from '../../protocol/media-close-codes.js';
import { CLIENT_ERRORS } from '../../web/client/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const unitReadme = readFileSync(new URL('../../../streaming-unit/README.md', import.meta.url), 'utf8');

describe('error catalogues', () => {
  it('documents every CSM, control-link, ticket, frame, chunk, ring and client error code in the README', () => {
    const codes = [...Object.keys(CsmErrors), ...Object.values(ControlErrorCode), ...Object.keys(TICKET_ERRORS), ...Object.keys(FRAME_ERRORS), ...Object.values(ChunkErrorCode), ...Object.keys(RING_ERRORS), ...Object.keys(CLIENT_ERRORS)];
    const missing = codes.filter((code) => !readme.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('documents every admin console code with its status', () => {
    for (const [code, entry] of Object.entries(ConsoleErrors)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      assert.ok(row?.includes(`| ${entry.status} |`), `${code} should be documented with status ${entry.status}`);
    }
  });

  it('documents every media close code and UDP error code in the streaming unit README', () => {
    const closeRows = Object.entries(MEDIA_CLOSE).filter(([name, spec]) => !unitReadme.includes(`| ${spec.closeCode} | \`${name}\` |`));
    assert.deepEqual(closeRows.map(([name]) => name), []);
    assert.deepEqual(Object.keys(UDP_ERRORS).filter((code) => !unitReadme.includes(`\`${code}\``)), []);
  });

  it('gives every control-link code a message', () => {
    for (const code of Object.values(ControlErrorCode)) assert.ok(CONTROL_ERROR_MESSAGES[code].length > 0, code);
  });

  it('documents each CSM code with the status its catalogue gives it', () => {
    for (const [code, entry] of Object.entries(CsmErrors)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      assert.ok(row?.includes(`| ${entry.status} |`), `${code} should be documented with status ${entry.status}`);
    }
  });
});
