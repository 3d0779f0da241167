/** Waiting in tests without guessing times: poll a condition, or await one event, each with a deadline that fails loudly. */
import type { EventMap, TypedEmitter } from '../../../protocol/typed-emitter.js';
import { waitFor } from '../../support/processes.js';

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  await waitFor(what, condition, timeoutMs, 5);
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

export { freePort } from '../../support/free-port.js';
