/** What the UDP tests assert about a viewer's frames, a deadline-bounded wait, and a forced GC. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '../support/processes.js';
import type { Arrival, TestPublisher } from './udp-harness.js';

/** Polls `condition` every 10 ms; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  await waitFor(what, condition, timeoutMs, 10);
}

/** Stops `publisher`, then waits until its last frame has arrived: nothing more is coming after. */
export async function stopAndAwaitLast(publisher: TestPublisher, arrivals: Arrival[]): Promise<void> {
  publisher.stop();
  const last = publisher.nextSeq - 1;
  await until(() => arrivals.at(-1)?.seq === last, 'the last frame');
}

/** Every frame once, consecutive seqs from the first, payloads as sent, video from a keyframe. */
export { assertInOrderAndIdentical as assertComplete } from '../support/frame-checks.js';

/**
 * A full garbage collection now, without starting node with --expose-gc: the flag set at run time
 * shows `gc` in contexts made after it. For what must survive one (native objects whose callbacks die
 * with their JavaScript wrapper).
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The longest time between two consecutive deliveries, ms. */
export function longestPause(arrivals: Arrival[]): number {
  let longest = 0;
  for (let i = 1; i < arrivals.length; i++) longest = Math.max(longest, arrivals[i]!.at - arrivals[i - 1]!.at);
  return longest;
}

/** The paths in delivery order with repeats folded: e.g. ['tcp', 'udp', 'tcp']. */
export function pathChanges(arrivals: Arrival[]): string[] {
  const out: string[] = [];
  for (const a of arrivals) if (out.at(-1) !== a.path) out.push(a.path);
  return out;
}
