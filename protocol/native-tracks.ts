/**
 * How to own a node-datachannel `Track` (the native media track object) without crashing the process.
 * Read from node-datachannel 0.33's source (media-track-wrapper.cpp) and seen in our tests:
 * - a Track's callbacks stop silently when JavaScript garbage-collects the object;
 * - its wrapper leaves node-datachannel's list of live tracks only from the cleanup step of its
 *   `onClosed` callback, and only if JavaScript registered one. A wrapper collected earlier stays on
 *   that list as a dangling pointer, and `cleanup()` at process end then dies in it (SIGSEGV in
 *   Track::close, or SIGABRT releasing its thread-safe function) — 4 test runs in 20 did.
 * So every Track is registered here: `onClosed` is set on it (once; this is the only place that sets
 * it, `then` gets the close), and it stays reachable until that callback has run. Written by hand:
 * a lifetime rule of one native binding, which no library wraps.
 */
import type { Track } from 'node-datachannel';

const live = new Set<Track>();

/** Holds `track` until its close has been reported; `then` runs at that close (once). */
export function holdTrack(track: Track, then: () => void = () => {}): void {
  live.add(track);
  track.onClosed(() => {
    // Dropped only after node-datachannel's own cleanup, which runs when this callback returns.
    setImmediate(() => live.delete(track));
    then();
  });
}

/** tracks held now (tests) */
export function heldTracks(): number {
  return live.size;
}
