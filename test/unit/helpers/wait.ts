/** Waiting in tests without guessing times: poll a condition, or await one event, each with a deadline that fails loudly. */
import type { EventMap, TypedEmitter } from '../../../protocol/typed-emitter.js';

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Resolves with the arguments of the next `event`. Subscribe before causing it. TypeScript cannot
 * infer E through a subclass of TypedEmitter, so callers name it: nextEvent<CsmLinkEvents, 'registered'>(link, 'registered').
 */
export function nextEvent<E extends EventMap, K extends keyof E & string>(emitter: TypedEmitter<E>, event: K, timeoutMs = 5000): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: E[K]): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event "${event}"`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** A TCP port nobody listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
