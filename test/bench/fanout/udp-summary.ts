/**
 * The UDP rows of one run, kept for two jobs: stopping a group run early, and the `udp` line after
 * the rows.
 *
 * - Stopping: once a row of a carrier saturates (the generator or the machine), bigger rows of the
 *   same carrier would measure that, not the unit, and are skipped. Per carrier, because a data
 *   channel costs both ends more per packet than an RTP track: udp-dc-100 saturating says nothing of
 *   udp-150 on RTP.
 * - The `udp` line: the unit's Mbit/s per core over the rows where nothing ran out of CPU, their
 *   delivered Mbit/s summed ÷ their unit cores summed, never mixing carriers. The headline is
 *   TARGET_CARRIER's (the carrier the UDP target is measured on); `datachannel` gives the same for
 *   data-channel rows, and `rtpOverDatachannel` the ratio of the two when both have a clean figure.
 */
import type { UdpCarrier } from '../../../protocol/media-messages.js';
import type { NetInfo } from './netns.js';
import { machineCores } from './proc-stats.js';

export const UDP_TARGETS = { mbpsPerCore: 500, completeShare: 0.99, firstKeyframeP95Ms: 100 };
/** the carrier of the UDP target (scenarios.ts: udp-50/100/150) */
export const TARGET_CARRIER: UdpCarrier = 'rtp';

/** A measured UDP row. */
export interface UdpRow {
  scenario: string;
  viewers: number;
  carrier: UdpCarrier;
  deliveredMbps: number;
  unitCpuCores: number;
  completeShare: number | null;
  /** what ran out of CPU, or null */
  saturated: string | null;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** One carrier's clean figure over its rows. */
function carrierFigures(carrier: UdpCarrier, rows: UdpRow[]): Record<string, unknown> & { mbpsPerCore: number | null; completeShareMin: number | null } {
  const clean = rows.filter((r) => r.saturated === null);
  const delivered = clean.reduce((s, r) => s + r.deliveredMbps, 0);
  const cores = clean.reduce((s, r) => s + r.unitCpuCores, 0);
  const mbpsPerCore = clean.length > 0 && cores > 0 ? round(delivered / cores, 1) : null;
  const completeShares = clean.map((r) => r.completeShare ?? 0);
  return {
    mbpsPerCore,
    gbpsPerCore: mbpsPerCore === null ? null : round(mbpsPerCore / 1000, 3),
    rows: clean.map((r) => r.scenario),
    completeShareMin: completeShares.length > 0 ? Math.min(...completeShares) : null,
    excluded: Object.fromEntries(rows.filter((r) => r.saturated !== null).map((r) => [r.scenario, `${r.saturated} saturated`])),
    ...(clean.length === 0 ? { note: rows.length === 0 ? `no ${carrier} row was measured` : `the generator or the machine saturated in every ${carrier} row: no clean figure` } : {}),
  };
}

export class UdpRows {
  readonly #rows: UdpRow[] = [];

  add(row: UdpRow): void {
    this.#rows.push(row);
  }

  /** Why a row of `carrier` with `viewers` is not worth running (a smaller one of its carrier saturated), or null. */
  skipReason(name: string, carrier: UdpCarrier, viewers: number): string | null {
    const first = this.#rows.filter((r) => r.carrier === carrier && r.saturated !== null).sort((a, b) => a.viewers - b.viewers)[0];
    if (!first || viewers <= first.viewers) return null;
    return `the ${first.saturated} saturated at ${first.scenario}: more viewers would measure it, not the unit (run ${name} alone to measure anyway)`;
  }

  /** The `udp` line (see the file comment). */
  summary(net: NetInfo): Record<string, unknown> {
    const target = carrierFigures(TARGET_CARRIER, this.#rows.filter((r) => r.carrier === TARGET_CARRIER));
    const dcRows = this.#rows.filter((r) => r.carrier === 'datachannel');
    const dc = dcRows.length > 0 ? carrierFigures('datachannel', dcRows) : null;
    return {
      bench: 'fanout',
      scenario: 'udp',
      mode: 'udp',
      carrier: TARGET_CARRIER,
      summary: `unit Mbit/s per core over the ${TARGET_CARRIER} UDP rows where neither the generator nor the machine saturated`,
      ...target,
      datachannel: dc,
      rtpOverDatachannel: target.mbpsPerCore !== null && dc?.mbpsPerCore ? round(target.mbpsPerCore / dc.mbpsPerCore, 2) : null,
      perRow: this.#rows.map((r) => ({
        scenario: r.scenario,
        carrier: r.carrier,
        viewers: r.viewers,
        mbpsPerCore: r.unitCpuCores > 0 ? round(r.deliveredMbps / r.unitCpuCores, 1) : null,
        saturated: r.saturated,
      })),
      targets: { mbpsPerCore: UDP_TARGETS.mbpsPerCore, completeShare: UDP_TARGETS.completeShare },
      met:
        target.mbpsPerCore === null
          ? null
          : { mbpsPerCore: target.mbpsPerCore >= UDP_TARGETS.mbpsPerCore, completeShare: (target.completeShareMin ?? 0) >= UDP_TARGETS.completeShare },
      cores: machineCores(),
      ...net,
    };
  }
}
