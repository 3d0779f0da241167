/** LoadMeter with a scripted clock: rates over the interval between samples, reads that do not reset it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeInvalid } from '../../protocol/ControlChannel.js';
import { UnitLoadSchema } from '../../protocol/control-messages.js';
import { LoadMeter, type LoadMeterClock } from '../../streaming-unit/LoadMeter.js';
import { UnitGroups } from '../../streaming-unit/UnitGroups.js';

function scriptedClock(): LoadMeterClock & { ms: number; cpuMicros: number } {
  const clock = {
    ms: 0,
    cpuMicros: 0,
    now: () => clock.ms,
    cpuUsage: () => ({ user: clock.cpuMicros, system: 0 }),
    rssBytes: () => 123_456,
  };
  return clock;
}

describe('LoadMeter', () => {
  it('measures egress bits/s and CPU cores over the last interval, viewers and RSS live', () => {
    const groups = new UnitGroups(4, 10);
    const clock = scriptedClock();
    const meter = new LoadMeter(groups, clock);
    groups.createGroup(7, 0, 'root');
    groups.addViewer(7, 0, 'a');
    meter.addEgressBytes(100_000);
    meter.addEgressBytes(150_000);
    clock.ms = 2000;
    clock.cpuMicros = 1_000_000; // 1 s of CPU in 2 s of wall time
    const load = meter.sample();
    assert.deepEqual(load, { viewers: 1, egressBps: 1_000_000, cpu: 0.5, rssBytes: 123_456 });
    assert.equal(describeInvalid(UnitLoadSchema, load), null);

    // Reading does not close the interval; the next sample covers only what came after.
    assert.deepEqual(meter.current(), load);
    clock.ms = 3000;
    const idle = meter.sample();
    assert.equal(idle.egressBps, 0);
    assert.equal(idle.cpu, 0);
  });

  it('stays inside the schema when the clock misbehaves', () => {
    const groups = new UnitGroups(4, 10);
    const clock = scriptedClock();
    const meter = new LoadMeter(groups, clock);
    clock.ms = 0.001;
    clock.cpuMicros = 10_000_000_000;
    assert.equal(meter.sample().cpu, 1024);
    const stuck = meter.sample(); // no time passed: the last rates stand
    assert.equal(describeInvalid(UnitLoadSchema, stuck), null);
  });
});
