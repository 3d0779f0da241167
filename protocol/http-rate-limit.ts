/**
 * Per-client-address request limits (@fastify/rate-limit, in-process counters) for one encapsulated
 * part of an HTTP API, shared by the CSM's and the web server's APIs. The limiter runs as the part's
 * first onRequest hook, ahead of its authentication, so a client guessing operator passwords or
 * service tokens is throttled before any scrypt work is done. Each part that calls this gets its own
 * counters; the refusal is the caller's own coded error (its error handler answers it).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

export interface RequestLimitOptions {
  perMinute: number;
  /** the error to answer a limited request with; `retryIn` is e.g. "1 minute" */
  refusal: (retryIn: string) => Error;
  /** requests this says yes to are not counted (a trusted caller that limits its own clients) */
  exempt?: (request: FastifyRequest) => boolean;
}

export async function limitRequests(app: FastifyInstance, options: RequestLimitOptions): Promise<void> {
  const exempt = options.exempt;
  await app.register(rateLimit, {
    // Not global: the hook is added below, explicitly, so it runs before the auth hook added after it.
    global: false,
    max: options.perMinute,
    timeWindow: 60_000,
    ...(exempt ? { allowList: (request: FastifyRequest) => exempt(request) } : {}),
    errorResponseBuilder: (_request, context) => options.refusal(context.after),
  });
  app.addHook('onRequest', app.rateLimit() as unknown as onRequestAsyncHookHandler);
}
