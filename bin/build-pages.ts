/**
 * `npm run build`'s last step: the browser pages, each set's TypeScript entries bundled by esbuild and
 * its static files (html, css) copied beside them — the site's pages (web/pages → dist/web/public,
 * served by `onair web`) and the admin console's page (admin-console/page → dist/admin-console/public,
 * served by `onair admin`). tsc has type-checked them before (their own DOM tsconfigs).
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

const SETS = [
  // every web/pages/<name>.ts is a page: its bundle is public/<name>.js
  { source: 'web/pages', out: 'dist/web/public', entries: readdirSync(`${root}web/pages`).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')) },
  { source: 'admin-console/page', out: 'dist/admin-console/public', entries: ['console.ts'] },
];

for (const set of SETS) {
  const out = `${root}${set.out}`;
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: set.entries.map((f) => `${root}${set.source}/${f}`),
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
  cpSync(`${root}${set.source}/static`, out, { recursive: true });
  process.stdout.write(`pages: ${set.entries.join(', ')} → ${set.out}\n`);
}
