/**
 * Builds the admin console's page into dist/admin-console/public: admin-console/page/console.ts
 * bundled by esbuild for the browser, and the static files (admin-console/page/static: html, css)
 * copied beside it. Run by `npm run build` after tsc has type-checked the page
 * (admin-console/page/tsconfig.json); `onair admin` serves the result (http/buildConsoleHttp.ts).
 */
import { cpSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const page = `${root}admin-console/page`;
const out = `${root}dist/admin-console/public`;

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${page}/console.ts`],
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome110',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
});
cpSync(`${page}/static`, out, { recursive: true });
process.stdout.write(`admin page: console.ts → ${out}\n`);
