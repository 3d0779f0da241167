/**
 * The unit's Prometheus registry: one per unit (never prom-client's global one, so several units in
 * one process — tests, the lab — do not collide). Gauges read the unit's state when scraped, so
 * nothing has to remember to update them.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { UnitLoad } from '../protocol/control-messages.js';

export interface UnitMetricSources {
  unitId: string;
  groupsPerUnit: number;
  groupsUsed(): number;
  viewers(): number;
  csmLinked(): boolean;
  epoch(): number;
  load(): UnitLoad;
  loopLagMs(): number;
}

export function createUnitRegistry(src: UnitMetricSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ unit: src.unitId });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('onair_unit_groups_total', 'groups this unit can hold (groupsPerUnit)', () => src.groupsPerUnit);
  gauge('onair_unit_groups_used', 'groups allocated to a channel', src.groupsUsed);
  gauge('onair_unit_viewers', 'viewers connected to this unit', src.viewers);
  gauge('onair_unit_csm_link_up', '1 while registered with the CSM over a live control link', () => (src.csmLinked() ? 1 : 0));
  gauge('onair_unit_csm_epoch', 'highest CSM epoch this unit has obeyed', src.epoch);
  gauge('onair_unit_egress_bps', 'bits per second sent to viewers and relays, last interval', () => src.load().egressBps);
  gauge('onair_unit_cpu_cores', 'CPU used by the unit process over the last interval, in cores', () => src.load().cpu);
  gauge('onair_unit_event_loop_lag_seconds', 'event-loop lag seen by the health timer', () => src.loopLagMs() / 1000);
  collectDefaultMetrics({ register: registry });
  return registry;
}
