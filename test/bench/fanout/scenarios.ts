/**
 * The fanout bench's scenarios, selectable by name or group (`onair bench fanout tcp-1000`,
 * `… fanout tcp`, `… fanout all`). The issue lists four kinds; this file says which are built:
 * - tcp: WebSocket viewers of one unit, with the naive `ws` baseline in the same run;
 * - tcp-slow: one viewer reading at a tenth of the stream rate among 500;
 * - udp: data-channel viewers (udp-viewer.ts), connected at UDP_CONNECT_PER_SEC (DTLS handshakes are
 *   expensive on both sides); no baseline;
 * - relay: one channel across three units, latency added per hop (relay.ts).
 */
import { RELAY_VIEWERS } from './relay.js';
import type { Transport } from './viewer-transport.js';

export interface Scenario {
  name: string;
  kind: 'fanout' | 'relay';
  mode: Transport;
  viewers: number;
  bitrateMbps: number;
  /** viewers reading at a tenth of the stream rate (counted apart) */
  slowViewers: number;
  /** serve the same load from the naive `ws` server too */
  baseline: boolean;
  /** null when runnable; else why not yet */
  notBuilt: string | null;
  /** the warm-up when `--warmup` is not given (default DEFAULT_WARMUP_SECONDS) */
  warmupSeconds?: number;
  /** viewers connected per second when `--connect-per-sec` is not given (default max(200, viewers / 2)) */
  connectPerSec?: number;
}

export const DEFAULT_WARMUP_SECONDS = 2;
/**
 * The slow viewer's steady state comes once the backlog queued for it before the unit noticed
 * (kernel send queue up to tcp_notsent_lowat plus what is in flight, and the socket's own buffer up
 * to the unit's bound) has drained at a tenth of the stream rate: tens of seconds (measured: see README).
 */
export const SLOW_WARMUP_SECONDS = 40;
/** UDP viewers connected per second, all generator processes together: each is a DTLS handshake on both sides */
export const UDP_CONNECT_PER_SEC = 25;

const tcp = (viewers: number, bitrateMbps: number, name = `tcp-${viewers}`): Scenario => ({ name, kind: 'fanout', mode: 'tcp', viewers, bitrateMbps, slowViewers: 0, baseline: true, notBuilt: null });
const udp = (viewers: number): Scenario => ({
  name: `udp-${viewers}`,
  kind: 'fanout',
  mode: 'udp',
  viewers,
  bitrateMbps: 2,
  slowViewers: 0,
  baseline: false,
  notBuilt: null,
  connectPerSec: UDP_CONNECT_PER_SEC,
});

export const SCENARIOS: readonly Scenario[] = [
  tcp(100, 2),
  tcp(500, 2),
  tcp(1000, 2),
  tcp(4000, 0.5, 'tcp-4000-low'),
  { ...tcp(500, 2, 'tcp-slow-500'), slowViewers: 1, warmupSeconds: SLOW_WARMUP_SECONDS },
  udp(50),
  udp(100),
  udp(150),
  // ── relays: a channel across three units (root → hop 1 → hop 2), latency added per hop ──
  { name: 'relay-3', kind: 'relay', mode: 'tcp', viewers: RELAY_VIEWERS, bitrateMbps: 2, slowViewers: 0, baseline: false, notBuilt: null },
];

const GROUPS: Record<string, (s: Scenario) => boolean> = {
  tcp: (s) => s.kind === 'fanout' && s.mode === 'tcp',
  udp: (s) => s.mode === 'udp',
  relay: (s) => s.kind === 'relay',
  all: () => true,
};

/** Scenarios by name or group; no names: the tcp group. Unknown names throw with the list. */
export function selectScenarios(names: string[]): Scenario[] {
  const wanted = names.length > 0 ? names : ['tcp'];
  const picked: Scenario[] = [];
  for (const name of wanted) {
    const group = GROUPS[name];
    const matches = group ? SCENARIOS.filter(group) : SCENARIOS.filter((s) => s.name === name);
    if (matches.length === 0) throw new Error(`unknown fanout scenario "${name}"; known: ${[...Object.keys(GROUPS), ...SCENARIOS.map((s) => s.name)].join(', ')}`);
    for (const s of matches) if (!picked.includes(s)) picked.push(s);
  }
  return picked;
}
