#!/usr/bin/env node
// The `onair` command. The TypeScript sources compile to dist/ (`npm run build`); this shim only
// points there, so that `node bin/onair.js` and the package's `bin` work from a checkout.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('onair: not built yet; run `npm run build` first\n');
  process.exit(1);
}
await import(entry.href);
