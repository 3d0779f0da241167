/**
 * Builds the site's pages into dist/web/public: each page's TypeScript entry (web/pages/<page>.ts,
 * which uses web/client and protocol/ like the Node tools do) bundled by esbuild for the browser, and
 * the static files (web/pages/static: html, css) copied beside them. Run by `npm run build` after tsc
 * has type-checked the pages (web/pages/tsconfig.json); the web server serves the result.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = `${root}web/pages`;
const out = `${root}dist/web/public`;

/** The pages with a script: their entry is web/pages/<name>.ts, their bundle public/<name>.js. */
const ENTRIES = readdirSync(pages).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

mkdirSync(out, { recursive: true });
await build({
  entryPoints: ENTRIES.map((f) => `${pages}/${f}`),
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // WebCodecs and MediaStreamTrackProcessor: Chromium 94+; the pages check for them and say so.
  target: 'chrome110',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
});
cpSync(`${pages}/static`, out, { recursive: true });
process.stdout.write(`pages: ${ENTRIES.join(', ')} → ${out}\n`);
