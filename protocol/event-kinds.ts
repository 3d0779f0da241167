/**
 * Every kind of event that lands in the cluster's event log, declared once. Units raise some of them
 * (viewer joins, publisher changes), the CSM the rest; the admin console filters by these names.
 */
export const EventKind = {
  UNIT_REGISTERED: 'unit.registered',
  UNIT_RECONNECTED: 'unit.reconnected',
  UNIT_LINK_LOST: 'unit.linkLost',
  UNIT_FAILED: 'unit.failed',
  UNIT_DRAINING: 'unit.draining',
  UNIT_RESUMED: 'unit.resumed',
  UNIT_EVACUATED: 'unit.evacuated',
  UNIT_REMOVED: 'unit.removed',
  UNIT_CAPACITY_CHANGED: 'unit.capacityChanged',
  UNIT_NOTICE: 'unit.notice',
  CHANNEL_OPENED: 'channel.opened',
  CHANNEL_CLOSED: 'channel.closed',
  CHANNEL_EXPANDED: 'channel.expanded',
  CHANNEL_SHRUNK: 'channel.shrunk',
  CHANNEL_CONSOLIDATED: 'channel.consolidated',
  CHANNEL_REHOMED: 'channel.rehomed',
  PUBLISHER_CONNECTED: 'publisher.connected',
  PUBLISHER_DISCONNECTED: 'publisher.disconnected',
  VIEWER_JOINED: 'viewer.joined',
  VIEWER_LEFT: 'viewer.left',
  OPERATOR_ACTION: 'operator.action',
  CSM_PROMOTED: 'csm.promoted',
  CSM_DEMOTED: 'csm.demoted',
} as const;

export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export const EVENT_KINDS: readonly EventKind[] = Object.values(EventKind);

export function isEventKind(value: unknown): value is EventKind {
  return typeof value === 'string' && (EVENT_KINDS as readonly string[]).includes(value);
}
