/** The CSM's Prometheus metrics: cluster gauges read from the Cluster at scrape time, plus counters. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Cluster } from './cluster/Cluster.js';

export interface CsmMetrics {
  registry: Registry;
  commandsSent: Counter<'method'>;
  commandFailures: Counter<'method' | 'code'>;
  unitFailures: Counter;
  mirrorWriteFailures: Counter;
  mirrorResyncs: Counter;
  roleChanges: Counter<'role'>;
}

export interface CsmGaugeSources {
  linkedUnits: () => number;
  /** the epoch this CSM holds */
  epoch: () => number;
  /** the newest epoch seen in the store */
  storeEpoch?: () => number;
  /** 1 while this CSM serves as the active one */
  active?: () => number;
  mirrorPending?: () => number;
}

export function createCsmMetrics(cluster: Cluster, sources: CsmGaugeSources): CsmMetrics {
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
  gauge('onair_csm_unit_links', 'Units with a live control link', sources.linkedUnits);
  gauge('onair_csm_channels', 'Live channels', () => cluster.channels.size);
  gauge('onair_csm_viewers', 'Admitted viewers (reserved or connected)', () => cluster.viewers.size);
  gauge('onair_csm_groups_used', 'Groups allocated to channels', () => {
    let n = 0;
    for (const unit of cluster.units.values()) n += unit.usedGroups;
    return n;
  });
  gauge('onair_csm_epoch', 'Fencing epoch this CSM writes with', sources.epoch);
  if (sources.storeEpoch) gauge('onair_csm_store_epoch', 'Newest epoch seen in the store', sources.storeEpoch);
  if (sources.active) gauge('onair_csm_active', '1 while this CSM serves as the active one, 0 as a backup', sources.active);
  if (sources.mirrorPending) gauge('onair_csm_mirror_pending', 'Changes waiting to be written to the store', sources.mirrorPending);
  return {
    registry,
    commandsSent: new Counter({ name: 'onair_csm_commands_total', help: 'Commands sent to units', labelNames: ['method'], registers: [registry] }),
    commandFailures: new Counter({ name: 'onair_csm_command_failures_total', help: 'Commands a unit refused or did not answer', labelNames: ['method', 'code'], registers: [registry] }),
    unitFailures: new Counter({ name: 'onair_csm_unit_failures_total', help: 'Units declared failed', registers: [registry] }),
    mirrorWriteFailures: new Counter({ name: 'onair_csm_mirror_write_failures_total', help: 'Mirror writes that failed (store away); each is retried as a full write', registers: [registry] }),
    mirrorResyncs: new Counter({ name: 'onair_csm_mirror_resyncs_total', help: 'Full writes of the state to the store (after an outage or a store that lost its data)', registers: [registry] }),
    roleChanges: new Counter({ name: 'onair_csm_role_changes_total', help: 'Promotions (role="active") and demotions (role="backup")', labelNames: ['role'], registers: [registry] }),
  };
}
