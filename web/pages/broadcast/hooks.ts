/**
 * `window.onair`: the broadcast page's state for the end-to-end tests and the browser benchmark,
 * which read it with page.evaluate. A live object, changed in place; keep the names exactly.
 */
import type { BroadcastHook, BroadcastPageState } from '../../../protocol/page-hooks.js';
import { emptyStats } from './BroadcastStats.js';

export type PageState = BroadcastPageState;
export type OnAirHooks = BroadcastHook;

/**
 * Puts the hook on `window.onair` through a cast, not a global `Window` declaration: the pages are
 * type-checked as one program and the watch page has a `window.onair` of its own.
 */
export function installHooks(): OnAirHooks {
  const hooks: OnAirHooks = { state: 'ready', channelId: null, stats: emptyStats() };
  (window as unknown as { onair: OnAirHooks }).onair = hooks;
  return hooks;
}
