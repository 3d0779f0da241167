/**
 * The unit's client-facing HTTP server (uWebSockets.js; the media plane adds its WebSocket routes to
 * the same app through `routes`, see media/MediaPlane.ts). For operators and the lab:
 *   GET /healthz  200 {ok, unitId, csmLinked, epoch, groupsUsed, groupsPerUnit, groupSize, viewers}. Still 200 while the CSM link
 *                 is down — the unit keeps serving its viewers without the CSM, so taking it out of
 *                 rotation would be wrong — but 503 while the event loop is stalled (LoopMonitor) or
 *                 the unit is closing.
 *   GET /metrics  the unit's Prometheus registry.
 * Anything else is 404 with a UNIT_ERR_NOT_FOUND body.
 */
import { App, us_listen_socket_close, us_socket_local_port, type HttpResponse, type TemplatedApp, type us_listen_socket, type us_socket } from 'uWebSockets.js';
import type { Registry } from 'prom-client';
import type { Logger } from '../protocol/logger.js';
import { UnitErrors, type UnitErrorCode } from './errors.js';
import type { LoopMonitor } from './LoopMonitor.js';

export interface HealthStatus {
  unitId: string;
  csmLinked: boolean;
  epoch: number;
  groupsUsed: number;
  /** current capacity (the configuration, or what the operator set through the CSM since start) */
  groupsPerUnit: number;
  groupSize: number;
  viewers: number;
}

export interface UnitHttpOptions {
  host: string;
  /** 0 picks a free port; `port` then tells which */
  port: number;
  health(): HealthStatus;
  loop: LoopMonitor;
  registry: Registry;
  logger: Logger;
  /** adds more routes (the media plane's WebSockets) to the app before it listens */
  routes?: (app: TemplatedApp) => void;
}

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 404: '404 Not Found', 500: '500 Internal Server Error', 503: '503 Service Unavailable' };

function sendJson(res: HttpResponse, status: number, body: unknown): void {
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status] ?? `${status} Status`).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
  });
}

function sendError(res: HttpResponse, code: UnitErrorCode, extra: Record<string, unknown> = {}): void {
  const { status, message } = UnitErrors[code];
  sendJson(res, status, { ok: false, code, message, ...extra });
}

export class UnitHttpServer {
  readonly app: TemplatedApp;
  readonly port: number;
  readonly #listenSocket: us_listen_socket;
  #closed = false;

  private constructor(app: TemplatedApp, listenSocket: us_listen_socket) {
    this.app = app;
    this.#listenSocket = listenSocket;
    this.port = us_socket_local_port(listenSocket as unknown as us_socket);
  }

  static listen(options: UnitHttpOptions): Promise<UnitHttpServer> {
    const app = App();
    let server: UnitHttpServer | null = null;
    const closing = (): boolean => server !== null && server.#closed;
    app.get('/healthz', (res) => {
      if (closing()) return sendError(res, 'UNIT_ERR_CLOSING');
      const status = options.health();
      if (options.loop.stalled) return sendError(res, 'UNIT_ERR_UNHEALTHY', { ...status, lagMs: Math.round(options.loop.lagMs) });
      sendJson(res, 200, { ok: true, ...status });
    });
    app.get('/metrics', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      options.registry.metrics().then(
        (text) => aborted || res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', options.registry.contentType).end(text)),
        (error: unknown) => {
          options.logger.error({ err: error }, 'collecting metrics failed');
          if (!aborted) sendJson(res, 500, { ok: false, message: 'collecting metrics failed' });
        },
      );
    });
    options.routes?.(app);
    app.any('/*', (res) => sendError(res, 'UNIT_ERR_NOT_FOUND'));
    return new Promise((resolve, reject) => {
      app.listen(options.host, options.port, (listenSocket) => {
        if (!listenSocket) {
          app.close();
          reject(new Error(`cannot listen on ${options.host}:${options.port}`));
          return;
        }
        server = new UnitHttpServer(app, listenSocket);
        resolve(server);
      });
    });
  }

  /** Stop listening and drop every open connection. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    us_listen_socket_close(this.#listenSocket);
    // Keep-alive connections would otherwise hold the process open.
    this.app.close();
  }
}
