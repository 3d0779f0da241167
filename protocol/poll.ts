/** Polling for a condition, for tools and tests that must wait on something with no event to await. */

export type Probe<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

/**
 * Calls `probe` every `everyMs` until it returns a truthy value (a throw counts as "not yet"); after
 * `timeoutMs` throws what `timeoutError` makes of a message naming `what` and the probe's last error.
 */
export async function pollUntil<T>(what: string, probe: Probe<T>, options: { timeoutMs: number; everyMs: number; timeoutError?: (message: string) => Error }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const message = `${what} (after ${options.timeoutMs} ms${lastError ? `; last error: ${String((lastError as Error).message ?? lastError)}` : ''})`;
      throw options.timeoutError ? options.timeoutError(message) : new Error(`timed out waiting for ${message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
}
