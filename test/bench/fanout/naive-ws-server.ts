/**
 * The baseline the fanout bench compares the unit with: the broadcast server most people would write
 * first, on the `ws` package. The publisher connects to /ingest/<channel>; every other path is a
 * viewer. Each message from the publisher is sent to every open viewer in a plain loop. No ring, no
 * backpressure bound, no keyframe start, no tickets: only the fan-out, which is what is compared.
 * Forked by the bench (one process, loopback, a free port); says where it listens over IPC.
 */
import { WebSocketServer, WebSocket } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 + 1024 });
const viewers = new Set<WebSocket>();

server.on('connection', (ws, request) => {
  if (request.url?.startsWith('/ingest/')) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      for (const viewer of viewers) if (viewer.readyState === WebSocket.OPEN) viewer.send(data, { binary: true });
    });
    return;
  }
  viewers.add(ws);
  ws.on('close', () => viewers.delete(ws));
  ws.on('error', () => viewers.delete(ws));
});

server.on('listening', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.send?.({ type: 'listening', port });
});

const stop = (): void => {
  for (const ws of viewers) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
