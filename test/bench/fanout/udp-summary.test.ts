/** The fanout bench's UDP rows (udp-summary.ts): the early stop and the summary, each per carrier. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UdpRows, type UdpRow } from './udp-summary.js';

const NET = { netns: true, tcpNotsentLowat: 131072 };

function row(scenario: string, carrier: UdpRow['carrier'], viewers: number, deliveredMbps: number, unitCpuCores: number, saturated: string | null = null): UdpRow {
  return { scenario, viewers, carrier, deliveredMbps, unitCpuCores, completeShare: 1, saturated };
}

describe('UdpRows', () => {
  it('skips only bigger rows of the carrier that saturated', () => {
    const rows = new UdpRows();
    rows.add(row('udp-dc-100', 'datachannel', 100, 200, 1, 'machine'));
    assert.equal(rows.skipReason('udp-150', 'rtp', 150), null);
    assert.equal(rows.skipReason('udp-dc-100b', 'datachannel', 100), null);
    assert.match(rows.skipReason('udp-dc-150', 'datachannel', 150) ?? '', /machine saturated at udp-dc-100/);
  });

  it('sums the clean rows of each carrier apart, the headline on rtp, and gives their ratio', () => {
    const rows = new UdpRows();
    rows.add(row('udp-50', 'rtp', 50, 100, 0.1));
    rows.add(row('udp-100', 'rtp', 100, 200, 0.3));
    rows.add(row('udp-dc-100', 'datachannel', 100, 200, 0.5));
    rows.add(row('udp-150', 'rtp', 150, 300, 2, 'generator'));
    const line = rows.summary(NET);
    assert.equal(line.carrier, 'rtp');
    assert.equal(line.mbpsPerCore, 750);
    assert.deepEqual(line.rows, ['udp-50', 'udp-100']);
    assert.deepEqual(line.excluded, { 'udp-150': 'generator saturated' });
    assert.deepEqual((line.datachannel as { mbpsPerCore: number; rows: string[] }).rows, ['udp-dc-100']);
    assert.equal((line.datachannel as { mbpsPerCore: number }).mbpsPerCore, 400);
    assert.equal(line.rtpOverDatachannel, 1.88);
    assert.deepEqual(line.met, { mbpsPerCore: true, completeShare: true });
  });

  it('says so when no rtp row was measured, and gives no data-channel figure without its rows', () => {
    const onlyDc = new UdpRows();
    onlyDc.add(row('udp-dc-100', 'datachannel', 100, 200, 0.5));
    const line = onlyDc.summary(NET);
    assert.equal(line.mbpsPerCore, null);
    assert.equal(line.note, 'no rtp row was measured');
    assert.equal(line.met, null);
    assert.equal(line.rtpOverDatachannel, null);
    assert.equal(new UdpRows().summary(NET).datachannel, null);
  });
});
