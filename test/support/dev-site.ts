/**
 * A site to try the pages against while the web server is not in the picture: a real CSM and units
 * (startProcessCluster) plus a bare HTTP server that serves dist/web/public and forwards /api/* to
 * the CSM's service API (the same paths the web server offers). `node dist/test/support/dev-site.js`
 * prints the URL and runs until Ctrl-C.
 */
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startProcessCluster, type ProcessCluster } from './cluster-fixture.js';
import { servePublicFile } from './public-files.js';

export interface DevSite {
  url: string;
  cluster: ProcessCluster;
  stop(): Promise<void>;
}

export async function startDevSite(unitIds = ['u1', 'u2'], port = 0): Promise<DevSite> {
  const cluster = await startProcessCluster(unitIds, { media: true });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/api/')) {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        const answer = await fetch(`${cluster.api}${url.pathname}${url.search}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: body.length > 0 ? body : null,
        });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
        return;
      }
      await servePublicFile(url.pathname, res);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    cluster,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.stop();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = await startDevSite(['u1', 'u2'], Number(process.env['PORT'] ?? 0));
  process.stdout.write(`dev site ${site.url} (CSM ${site.cluster.api}; units ${[...site.cluster.units.values()].map((u) => u.address).join(', ')})\n`);
  const stop = (): void => void site.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
