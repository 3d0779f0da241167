import { EventEmitter } from 'node:events';

/**
 * An EventEmitter whose event names and argument lists are checked by the compiler
 * (mediasoup's enhancedEvents). `safeEmit` isolates the emitter from a throwing listener.
 */
export type EventMap = Record<string, unknown[]>;

export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();

  constructor() {
    // A process with thousands of groups may legitimately hang many listeners on one emitter.
    this.#emitter.setMaxListeners(0);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Emit to every listener; a listener that throws is reported on `onListenerError`, never to the caller. */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.#emitter.listeners(event);
    for (const listener of listeners) {
      try {
        (listener as (...a: E[K]) => void)(...args);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
    return listeners.length > 0;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }

  protected onListenerError(event: string, error: unknown): void {
    process.emitWarning(`listener of "${event}" threw: ${String(error)}`, 'ListenerError');
  }
}
