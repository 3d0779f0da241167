/**
 * The fanout bench's scenarios, selectable by name or group (`onair bench fanout tcp-1000`,
 * `… fanout tcp`, `… fanout all`). The issue lists four kinds; this file says which are built:
 * - tcp: WebSocket viewers of one unit, with the naive `ws` baseline in the same run;
 * - tcp-slow: one viewer reading at a tenth of the stream rate among 500;
 * - udp: UDP viewers (udp-viewer.ts), connected at UDP_CONNECT_PER_SEC (DTLS handshakes are
 *   expensive on both sides); no baseline. udp-50/100/150/250 take the chunks as RTP packets on a media
 *   track, the carrier the UDP target is measured on (it costs the unit about a third of a data
 *   channel per packet); udp-dc-100 takes them on a data channel, to compare the two at one load;
 * - relay: one channel across three units, latency added per hop (relay.ts).
 */
import type { UdpCarrier } from '../../../protocol/media-messages.js';
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
  /** UDP rows: how the chunks travel (`udp-start`'s carrier); set on every one */
  carrier?: UdpCarrier;
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
const udp = (viewers: number, carrier: UdpCarrier, name = `udp-${viewers}`): Scenario => ({
  name,
  kind: 'fanout',
  mode: 'udp',
  viewers,
  bitrateMbps: 2,
  slowViewers: 0,
  baseline: false,
  notBuilt: null,
  connectPerSec: UDP_CONNECT_PER_SEC,
  carrier,
});

export const SCENARIOS: readonly Scenario[] = [
  tcp(100, 2),
  tcp(500, 2),
  tcp(1000, 2),
  tcp(4000, 0.5, 'tcp-4000-low'),
  { ...tcp(500, 2, 'tcp-slow-500'), slowViewers: 1, warmupSeconds: SLOW_WARMUP_SECONDS },
  udp(50, 'rtp'),
  udp(100, 'rtp'),
  // next to udp-100, so that the two carriers are compared at one load, minutes apart
  udp(100, 'datachannel', 'udp-dc-100'),
  udp(150, 'rtp'),
  // the UDP target's own load: 0.5 Gbit/s as 250 viewers at 2 Mbit/s
  udp(250, 'rtp'),
  // ── relays: a channel across three units (root → hop 1 → hop 2), latency added per hop ──
  { name: 'relay-3', kind: 'relay', mode: 'tcp', viewers: RELAY_VIEWERS, bitrateMbps: 2, slowViewers: 0, baseline: false, notBuilt: null },
];

/** A scenario's UDP carrier: its own, else the protocol's default (a data channel). */
export const carrierOf = (scenario: Scenario): UdpCarrier => scenario.carrier ?? 'datachannel';

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
