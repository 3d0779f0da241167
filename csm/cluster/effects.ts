import type { CsmCommand, RequestParams } from '../../protocol/control-messages.js';
import type { NewLogEvent } from '../../protocol/store/EventLog.js';
import type { Channel, Unit } from './model.js';

export type CommandParams<M extends CsmCommand> = Omit<RequestParams<M>, 'epoch'>;

/**
 * What the cluster's state changes cause outside it. The Cluster never does I/O: the CSM wires these
 * to unit links (stamping the epoch), the event log and the store mirror; the benchmark counts them.
 */
export interface ClusterEffects {
  command<M extends CsmCommand>(unit: Unit, method: M, params: CommandParams<M>): void;
  event(event: NewLogEvent): void;
  unitChanged(unit: Unit): void;
  unitRemoved(unitId: string): void;
  channelChanged(channel: Channel): void;
  channelRemoved(channelId: number): void;
}

export const noEffects: ClusterEffects = {
  command: () => {},
  event: () => {},
  unitChanged: () => {},
  unitRemoved: () => {},
  channelChanged: () => {},
  channelRemoved: () => {},
};
