/**
 * A tiny typed event emitter for the isomorphic client (no `node:events`, so a browser bundles it).
 * The event map names each event and its argument tuple, as mediasoup's enhancedEvents does:
 * `{ frame: [Frame]; closed: [number, string] }`. `safeEmit` catches a listener's throw and hands it
 * to `onListenerError`, so one bad listener neither breaks the others nor the client's own state.
 */
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Stored without their argument types; `on` and `safeEmit` keep the pairing by event name.
type AnyListener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<AnyListener>>();

  constructor(private readonly onListenerError: (error: unknown, event: keyof E) => void = () => {}) {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as unknown as AnyListener);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapper: Listener<E[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    this.#listeners.get(event)?.delete(listener as unknown as AnyListener);
    return this;
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls every listener of `event`; a throwing listener is reported, never rethrown. */
  safeEmit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as Listener<E[K]>)(...args);
      } catch (error) {
        try {
          this.onListenerError(error, event);
        } catch {
          // the reporter itself failed: nothing sensible is left to do
        }
      }
    }
  }
}
