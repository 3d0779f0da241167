/** The CSM's Prometheus metrics: cluster gauges read from the Cluster at scrape time, plus counters. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Cluster } from './cluster/Cluster.js';

export interface CsmMetrics {
  registry: Registry;
  commandsSent: Counter<'method'>;
  commandFailures: Counter<'method' | 'code'>;
  unitFailures: Counter;
}

export function createCsmMetrics(cluster: Cluster, linkedUnits: () => number, epoch: () => number): CsmMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'onair_csm_' });
  new Gauge({
    name: 'onair_csm_units',
    help: 'Registered streaming units by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = { up: 0, draining: 0, failed: 0 };
      for (const unit of cluster.units.values()) counts[unit.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('onair_csm_unit_links', 'Units with a live control link', linkedUnits);
  gauge('onair_csm_channels', 'Live channels', () => cluster.channels.size);
  gauge('onair_csm_viewers', 'Admitted viewers (reserved or connected)', () => cluster.viewers.size);
  gauge('onair_csm_groups_used', 'Groups allocated to channels', () => {
    let n = 0;
    for (const unit of cluster.units.values()) n += unit.usedGroups;
    return n;
  });
  gauge('onair_csm_epoch', 'Fencing epoch this CSM writes with', epoch);
  return {
    registry,
    commandsSent: new Counter({ name: 'onair_csm_commands_total', help: 'Commands sent to units', labelNames: ['method'], registers: [registry] }),
    commandFailures: new Counter({ name: 'onair_csm_command_failures_total', help: 'Commands a unit refused or did not answer', labelNames: ['method', 'code'], registers: [registry] }),
    unitFailures: new Counter({ name: 'onair_csm_unit_failures_total', help: 'Units declared failed', registers: [registry] }),
  };
}
