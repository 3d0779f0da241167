/**
 * What the CSM's and the web server's HTTP APIs share about errors: a catalogue entry (status,
 * message, retryable), the error class of a catalogue, and the fastify wiring that turns every
 * failure into `{ code, message, retryable }` — each server brings its own catalogue and mapping
 * (csm/http/error-handler.ts, web/server/http/error-handler.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from './control-errors.js';

export interface HttpErrorEntry {
  status: number;
  message: string;
  retryable: boolean;
}

export interface HttpErrorBody {
  code: string;
  message: string;
  retryable: boolean;
}

/** What a server's mapping makes of a failure. */
export interface MappedError {
  status: number;
  body: HttpErrorBody;
  /** Retry-After to send (e.g. an upstream's own); without it a retryable 503 says 1 s */
  retryAfter?: string | null;
}

/**
 * The error class of an HTTP catalogue: `new XError(code, detail?, { cause })` carries the code, the
 * catalogue's status and retryable flag, and its message with the detail after it.
 */
export function httpCatalogueError<C extends string>(name: string, catalogue: Readonly<Record<C, HttpErrorEntry>>) {
  return class extends CodedError {
    declare readonly code: C;
    readonly status: number;
    readonly retryable: boolean;
    constructor(code: C, detail?: string, options?: { cause?: unknown }) {
      const entry = catalogue[code];
      super(code, detail ? `${entry.message}: ${detail}` : entry.message);
      this.name = name;
      this.status = entry.status;
      this.retryable = entry.retryable;
      if (options?.cause !== undefined) this.cause = options.cause;
    }
    /** the body this error is answered with */
    get body(): HttpErrorBody {
      return { code: this.code, message: this.message, retryable: this.retryable };
    }
  };
}

export interface ErrorHandlingOptions {
  map: (error: unknown) => MappedError;
  /** the code of "anything else" (logged with its stack) */
  internalCode: string;
  /** answered to every request once the server is closing (fastify's own 503 is turned off) */
  closing: () => Error;
  /** answered to an unknown route; `what` is "METHOD /path" */
  notFound: (what: string) => Error;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, options: ErrorHandlingOptions): FastifyReply {
  const { status, body, retryAfter } = options.map(error);
  if (body.code === options.internalCode) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.code, status, cause: (error as { cause?: { message?: string } } | null)?.cause?.message }, body.message);
  const after = retryAfter ?? (status === 503 && body.retryable ? '1' : null);
  if (after) reply.header('retry-after', after);
  // Serialized here, not by the route's response schema: a route may document another body under the
  // same status (/healthz's 503), and an error must never fail to serialize.
  return reply.code(status).type('application/json; charset=utf-8').serializer(JSON.stringify).send(body);
}

export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Root hook: runs before every route's own hooks, and for unknown routes too.
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw options.closing();
  });
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error, options));
  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, options.notFound(`${request.method} ${request.url.split('?')[0] ?? ''}`.slice(0, 200)), options);
  });
}
