/**
 * How to own a node-datachannel `Track` or `DataChannel` (native objects) without crashing the
 * process. Read from node-datachannel 0.33's source (media-track-wrapper.cpp, data-channel-wrapper.cpp)
 * and seen in our tests:
 * - their callbacks stop silently when JavaScript garbage-collects the object;
 * - a wrapper leaves node-datachannel's list of live ones only from the cleanup step of its
 *   `onClosed` callback, and only if JavaScript registered one. A wrapper collected earlier stays on
 *   that list as a dangling pointer, and `cleanup()` at process end then dies in it (SIGSEGV in
 *   Track::close, or SIGABRT releasing its thread-safe function) — 4 test runs in 20 did, with Tracks.
 * So each is registered here: `onClosed` is set on it (once; this is the only place that sets it,
 * `then` gets the close), and it stays reachable until that callback has run. Written by hand: a
 * lifetime rule of one native binding, which no library wraps.
 */
import type { DataChannel, Track } from 'node-datachannel';

type NativeChannel = Track | DataChannel;
const live = new Set<NativeChannel>();

/** Holds `channel` until its close has been reported; `then` runs at that close (once). */
export function holdUntilClosed(channel: NativeChannel, then: () => void = () => {}): void {
  live.add(channel);
  channel.onClosed(() => {
    // Dropped only after node-datachannel's own cleanup, which runs when this callback returns.
    setImmediate(() => live.delete(channel));
    then();
  });
}

/** tracks and data channels held now (tests) */
export function heldChannels(): number {
  return live.size;
}
