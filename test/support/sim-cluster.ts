/** A Cluster driven without sockets: units are registered directly and commands are recorded. */
import { Cluster, defaultClusterOptions, type ClusterOptions } from '../../csm/cluster/Cluster.js';
import type { ClusterEffects } from '../../csm/cluster/effects.js';
import type { Unit } from '../../csm/cluster/model.js';
import type { NewLogEvent } from '../../protocol/store/EventLog.js';

export interface RecordedCommand {
  unitId: string;
  method: string;
  params: Record<string, unknown>;
}

export interface SimCluster {
  cluster: Cluster;
  commands: RecordedCommand[];
  events: NewLogEvent[];
  clock: { now: number };
  addUnit(id: string, groupsPerUnit?: number, groupSize?: number): Unit;
}

export function simCluster(options: Partial<ClusterOptions> = {}): SimCluster {
  const commands: RecordedCommand[] = [];
  const events: NewLogEvent[] = [];
  const clock = { now: 1_000_000 };
  const effects: ClusterEffects = {
    command: (unit, method, params) => void commands.push({ unitId: unit.id, method, params: params as Record<string, unknown> }),
    event: (event) => void events.push(event),
    unitChanged: () => {},
    unitRemoved: () => {},
    channelChanged: () => {},
    channelRemoved: () => {},
  };
  const cluster = new Cluster({ ...defaultClusterOptions, ...options }, effects, () => clock.now);
  return {
    cluster,
    commands,
    events,
    clock,
    addUnit: (id, groupsPerUnit = 50, groupSize = 10) =>
      cluster.registerUnit({ id, address: `ws://unit-${id}`, groupsPerUnit, groupSize, load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 } }),
  };
}
