/**
 * The built pages (dist/web/public) as a bare HTTP server serves them to a test browser: the file at a
 * request's path (`/` is index.html), nothing outside the folder, 404 for what is not there.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = fileURLToPath(new URL('../../web/public/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

export async function servePublicFile(pathname: string, res: ServerResponse): Promise<void> {
  const path = normalize(join(PUBLIC, pathname === '/' ? 'index.html' : pathname));
  if (!path.startsWith(PUBLIC)) return void res.writeHead(403).end();
  try {
    const data = await readFile(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(data);
  } catch {
    res.writeHead(404).end('not found');
  }
}
