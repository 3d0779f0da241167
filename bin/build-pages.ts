/**
 * `npm run build`'s last step: the browser pages, each set's TypeScript entries bundled by esbuild and
 * its static files (html, css) copied beside them — the site's pages (web/pages → dist/web/public,
 * served by `onair web`) and the admin console's page (admin-console/page → dist/admin-console/public,
 * served by `onair admin`). tsc has type-checked them before (their own DOM tsconfigs).
 *
 * A set's workers are entries too, each its own bundle beside the pages' (`workers`: source file →
 * bundle name): a page starts one with `new Worker(new URL('<name>.js', import.meta.url))`.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface PageSet {
  source: string;
  out: string;
  entries: string[];
  workers: Record<string, string>;
}

const SETS: PageSet[] = [
  {
    source: 'web/pages',
    out: 'dist/web/public',
    // every web/pages/<name>.ts is a page: its bundle is public/<name>.js
    entries: readdirSync(`${root}web/pages`).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    // the watch page's standard RTP tap (watch/ScriptRtpTap.ts)
    workers: { 'watch/rtp-tap-worker.ts': 'rtp-tap-worker' },
  },
  { source: 'admin-console/page', out: 'dist/admin-console/public', entries: ['console.ts'], workers: {} },
];

for (const set of SETS) {
  const out = `${root}${set.out}`;
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [
      ...set.entries.map((f) => ({ in: `${root}${set.source}/${f}`, out: f.replace(/\.ts$/, '') })),
      ...Object.entries(set.workers).map(([f, name]) => ({ in: `${root}${set.source}/${f}`, out: name })),
    ],
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
  process.stdout.write(`pages: ${[...set.entries, ...Object.keys(set.workers)].join(', ')} → ${set.out}\n`);
}
