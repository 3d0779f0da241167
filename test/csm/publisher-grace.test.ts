/**
 * A channel whose broadcaster stays away is closed after `publisherGraceMs`: never connected after
 * opening, or gone (left, or lost with its unit) and not back. Within the grace it stays, so its
 * viewers wait for the broadcaster's page to reconnect instead of seeing the broadcast end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventKind } from '../../protocol/event-kinds.js';
import { simCluster } from '../support/sim-cluster.js';

describe('publisher grace', () => {
  it('closes a channel whose broadcaster never connected, after the grace and not before', () => {
    const sim = simCluster({ publisherGraceMs: 10_000 });
    sim.addUnit('a');
    const channel = sim.cluster.openChannel('k');
    sim.clock.now += 9_999;
    sim.cluster.sweep(() => {});
    assert.ok(sim.cluster.channels.has(channel.id), 'closed within the grace');
    sim.clock.now += 1;
    sim.cluster.sweep(() => {});
    assert.ok(!sim.cluster.channels.has(channel.id));
    assert.ok(sim.commands.some((c) => c.method === 'csm.closeChannel' && c.params['channelId'] === channel.id), 'its units are told');
    const closed = sim.events.find((e) => e.kind === EventKind.CHANNEL_CLOSED);
    assert.match(closed?.message ?? '', /no broadcaster for 10 s/);
  });

  it('keeps a channel while its broadcaster is connected, and counts the grace from when it left', () => {
    const sim = simCluster({ publisherGraceMs: 10_000 });
    sim.addUnit('a');
    const channel = sim.cluster.openChannel('k');
    channel.publisherConnected = true;
    sim.clock.now += 60_000;
    sim.cluster.sweep(() => {});
    assert.ok(sim.cluster.channels.has(channel.id));
    channel.publisherConnected = false; // left (or its unit died and the root moved)
    sim.cluster.sweep(() => {});
    sim.clock.now += 9_000;
    sim.cluster.sweep(() => {});
    assert.ok(sim.cluster.channels.has(channel.id), 'closed before the grace since it left');
    channel.publisherConnected = true; // the page reconnected in time
    sim.cluster.sweep(() => {});
    channel.publisherConnected = false;
    sim.clock.now += 5_000;
    sim.cluster.sweep(() => {});
    sim.clock.now += 9_000;
    sim.cluster.sweep(() => {});
    assert.ok(sim.cluster.channels.has(channel.id), 'a return restarts the grace');
    sim.clock.now += 1_000;
    sim.cluster.sweep(() => {});
    assert.ok(!sim.cluster.channels.has(channel.id));
  });
});
