/**
 * Per-IP request limits (@fastify/rate-limit, in-process store) for one encapsulated part of the API.
 * The limiter runs as the first onRequest hook of that part, ahead of its authentication, so a
 * client guessing operator passwords or service tokens is throttled before any scrypt work is done.
 * Each part that calls this gets its own counters.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { CsmError } from '../errors.js';

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

export async function limitRequests(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(rateLimit, {
    // Not global: the hook is added below, explicitly, so it runs before the auth hook added after it.
    global: false,
    max: perMinute,
    timeWindow: 60_000,
    // Thrown by the limiter and answered by the error handler, like every other error.
    errorResponseBuilder: (_request, context) => new CsmError('CSM_ERR_RATE_LIMITED', `retry in ${context.after}`),
  });
  app.addHook('onRequest', app.rateLimit() as unknown as onRequestAsyncHookHandler);
}
