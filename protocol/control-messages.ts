/**
 * The control protocol between streaming units and the CSM, declared once: every request method,
 * every notification, and the schema its payload is validated against on receipt. Both sides and
 * the tests import these tables; nothing else names a message by string.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { EVENT_KINDS, type EventKind } from './event-kinds.js';
import { UdpCarrierSchema } from './media-messages.js';

const UnitId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const ChannelId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 });
const GroupIndex = Type.Integer({ minimum: 0, maximum: 9999 });
const ViewerId = Type.String({ minLength: 1, maxLength: 64 });
const Epoch = Type.Integer({ minimum: 0 });
const Count = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });
const Address = Type.String({ minLength: 1, maxLength: 256 });
const GroupRole = Type.Union([Type.Literal('root'), Type.Literal('member')]);
const strict = { additionalProperties: false } as const;

export const UnitLoadSchema = Type.Object(
  {
    viewers: Count,
    /** bits per second sent to viewers and relays, measured over the last interval */
    egressBps: Type.Number({ minimum: 0 }),
    /** share of one core used by the unit process over the last interval (0..n cores) */
    cpu: Type.Number({ minimum: 0, maximum: 1024 }),
    rssBytes: Type.Number({ minimum: 0 }),
  },
  strict,
);
export type UnitLoad = Static<typeof UnitLoadSchema>;

export const GroupReportSchema = Type.Object(
  {
    index: GroupIndex,
    channelId: ChannelId,
    role: GroupRole,
    viewerIds: Type.Array(ViewerId, { maxItems: 10_000 }),
  },
  strict,
);
export type GroupReport = Static<typeof GroupReportSchema>;

export const ChannelReportSchema = Type.Object(
  {
    channelId: ChannelId,
    /** parent unit of this unit's relay link for the channel, null at the root unit */
    relayParent: Type.Union([UnitId, Type.Null()]),
    publisherConnected: Type.Boolean(),
    bitrateBps: Type.Number({ minimum: 0 }),
    backlogFrames: Count,
    videoSkips: Count,
    drops: Count,
    /** viewers of the channel here whose frames go over a data channel (UDP); the others are on TCP */
    udpViewerIds: Type.Array(ViewerId, { maxItems: 10_000 }),
    /** relay links of other units reading this unit's ring for the channel */
    relayChildren: Count,
  },
  strict,
);
export type ChannelReport = Static<typeof ChannelReportSchema>;

export const RelayParentSchema = Type.Object({ unitId: UnitId, address: Address }, strict);
export type RelayParent = Static<typeof RelayParentSchema>;

/** Requests: method name → params and result schemas. */
export const Method = {
  UNIT_REGISTER: 'unit.register',
  CSM_CREATE_GROUP: 'csm.createGroup',
  CSM_RELEASE_GROUP: 'csm.releaseGroup',
  CSM_MERGE_GROUP: 'csm.mergeGroup',
  CSM_LINK_RELAY: 'csm.linkRelay',
  CSM_EVACUATE: 'csm.evacuate',
  CSM_CLOSE_CHANNEL: 'csm.closeChannel',
  CSM_REMOVE_UNIT: 'csm.removeUnit',
  CSM_SET_CAPACITY: 'csm.setCapacity',
} as const;
export type Method = (typeof Method)[keyof typeof Method];

const Ack = Type.Object({ ok: Type.Literal(true) }, strict);

export const RequestSchemas = {
  [Method.UNIT_REGISTER]: {
    params: Type.Object(
      {
        unitId: UnitId,
        address: Address,
        groupsPerUnit: Type.Integer({ minimum: 1, maximum: 10_000 }),
        groupSize: Type.Integer({ minimum: 1, maximum: 10_000 }),
        /** the cluster secret; compared in constant time */
        secret: Type.String({ minLength: 1, maxLength: 256 }),
        /** the highest CSM epoch this unit has obeyed */
        epochSeen: Epoch,
        groups: Type.Array(GroupReportSchema, { maxItems: 10_000 }),
        channels: Type.Array(ChannelReportSchema, { maxItems: 10_000 }),
        load: UnitLoadSchema,
        /**
         * the UDP carriers its viewers may ask for (udp-start's `carrier`); a unit from before
         * carriers sends none and is taken to serve the data channel only
         */
        udpCarriers: Type.Optional(Type.Array(UdpCarrierSchema, { maxItems: 2, uniqueItems: true })),
      },
      strict,
    ),
    result: Type.Object(
      {
        epoch: Epoch,
        csmId: Type.String({ maxLength: 128 }),
        heartbeatIntervalMs: Type.Integer({ minimum: 10 }),
        reportIntervalMs: Type.Integer({ minimum: 10 }),
      },
      strict,
    ),
  },
  [Method.CSM_CREATE_GROUP]: {
    params: Type.Object({ epoch: Epoch, channelId: ChannelId, groupIndex: GroupIndex, role: GroupRole }, strict),
    result: Ack,
  },
  [Method.CSM_RELEASE_GROUP]: {
    params: Type.Object({ epoch: Epoch, channelId: ChannelId, groupIndex: GroupIndex }, strict),
    result: Ack,
  },
  /** Consolidation inside one unit: the viewers of `from` now count in `into` (no reconnect: both share the unit's ring buffer). */
  [Method.CSM_MERGE_GROUP]: {
    params: Type.Object({ epoch: Epoch, channelId: ChannelId, from: GroupIndex, into: GroupIndex }, strict),
    result: Ack,
  },
  [Method.CSM_LINK_RELAY]: {
    params: Type.Object(
      { epoch: Epoch, channelId: ChannelId, parent: Type.Union([RelayParentSchema, Type.Null()]) },
      strict,
    ),
    result: Ack,
  },
  /** Orderly failover: the unit tells its clients of these channels to rejoin through the CSM, then drops the groups. */
  [Method.CSM_EVACUATE]: {
    params: Type.Object({ epoch: Epoch, channelIds: Type.Array(ChannelId, { maxItems: 10_000 }) }, strict),
    result: Ack,
  },
  [Method.CSM_CLOSE_CHANNEL]: {
    params: Type.Object({ epoch: Epoch, channelId: ChannelId }, strict),
    result: Ack,
  },
  /** The operator removed this unit: it stops reconnecting. */
  [Method.CSM_REMOVE_UNIT]: {
    params: Type.Object({ epoch: Epoch }, strict),
    result: Ack,
  },
  /**
   * The operator changed this unit's capacity: groups it holds from now on, and viewer slots of groups
   * created from now on (existing groups keep theirs). The unit refuses a groupsPerUnit below a group it serves.
   */
  [Method.CSM_SET_CAPACITY]: {
    params: Type.Object(
      { epoch: Epoch, groupsPerUnit: Type.Integer({ minimum: 1, maximum: 10_000 }), groupSize: Type.Integer({ minimum: 1, maximum: 10_000 }) },
      strict,
    ),
    result: Ack,
  },
} as const satisfies Record<Method, { params: TSchema; result: TSchema }>;

export type RequestParams<M extends Method> = Static<(typeof RequestSchemas)[M]['params']>;
export type RequestResult<M extends Method> = Static<(typeof RequestSchemas)[M]['result']>;

/** Methods the CSM sends to a unit; each carries the CSM's epoch, and a unit refuses an older one. */
export const CSM_COMMANDS = [
  Method.CSM_CREATE_GROUP,
  Method.CSM_RELEASE_GROUP,
  Method.CSM_MERGE_GROUP,
  Method.CSM_LINK_RELAY,
  Method.CSM_EVACUATE,
  Method.CSM_CLOSE_CHANNEL,
  Method.CSM_REMOVE_UNIT,
  Method.CSM_SET_CAPACITY,
] as const;
export type CsmCommand = (typeof CSM_COMMANDS)[number];

/** Notifications: one-way messages, unit → CSM. */
export const Notification = {
  UNIT_HEARTBEAT: 'unit.heartbeat',
  UNIT_REPORT: 'unit.report',
  UNIT_VIEWER_JOINED: 'unit.viewerJoined',
  UNIT_VIEWER_LEFT: 'unit.viewerLeft',
  UNIT_PUBLISHER_CHANGED: 'unit.publisherChanged',
  UNIT_EVENT: 'unit.event',
} as const;
export type Notification = (typeof Notification)[keyof typeof Notification];

const ViewerPlace = { channelId: ChannelId, groupIndex: GroupIndex, viewerId: ViewerId };

export const NotificationSchemas = {
  [Notification.UNIT_HEARTBEAT]: Type.Object({ load: UnitLoadSchema }, strict),
  [Notification.UNIT_REPORT]: Type.Object(
    {
      groups: Type.Array(GroupReportSchema, { maxItems: 10_000 }),
      channels: Type.Array(ChannelReportSchema, { maxItems: 10_000 }),
      load: UnitLoadSchema,
    },
    strict,
  ),
  [Notification.UNIT_VIEWER_JOINED]: Type.Object(ViewerPlace, strict),
  [Notification.UNIT_VIEWER_LEFT]: Type.Object(ViewerPlace, strict),
  [Notification.UNIT_PUBLISHER_CHANGED]: Type.Object({ channelId: ChannelId, connected: Type.Boolean() }, strict),
  [Notification.UNIT_EVENT]: Type.Object(
    {
      kind: Type.Enum(EVENT_KINDS as EventKind[]),
      channelId: Type.Optional(ChannelId),
      message: Type.String({ maxLength: 1024 }),
    },
    strict,
  ),
} as const satisfies Record<Notification, TSchema>;

export type NotificationPayload<N extends Notification> = Static<(typeof NotificationSchemas)[N]>;
