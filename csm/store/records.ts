/**
 * What the active CSM mirrors to its store, and what a CSM that takes over loads back, declared once
 * as schemas: the types come from them, and a store checks what it decodes against them. Viewer ids
 * are not mirrored: units report who is connected, and the new active adopts them from those reports.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const strict = { additionalProperties: false } as const;

export const UnitStateSchema = Type.Union([Type.Literal('up'), Type.Literal('draining'), Type.Literal('failed')]);
export type UnitState = Static<typeof UnitStateSchema>;

export const UnitRecordSchema = Type.Object(
  {
    id: Type.String(),
    /** base URL of the unit's client-facing endpoint, e.g. ws://127.0.0.1:7101 */
    address: Type.String(),
    groupsPerUnit: Type.Integer({ minimum: 1 }),
    groupSize: Type.Integer({ minimum: 1 }),
    state: UnitStateSchema,
    registeredAt: Type.Number(),
    /** the capacity an operator set (csm.setCapacity), applied again whenever the unit registers with other values; absent: the unit's own */
    operatorCapacity: Type.Optional(Type.Object({ groupsPerUnit: Type.Integer({ minimum: 1 }), groupSize: Type.Integer({ minimum: 1 }) }, strict)),
  },
  strict,
);
export type UnitRecord = Static<typeof UnitRecordSchema>;

export const GroupRecordSchema = Type.Object(
  {
    unitId: Type.String(),
    index: Type.Integer({ minimum: 0 }),
    role: Type.Union([Type.Literal('root'), Type.Literal('member')]),
    /** the group this one hangs under in the channel tree ("unitId/index"), null for the root */
    parent: Type.Union([Type.String(), Type.Null()]),
    viewers: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type GroupRecord = Static<typeof GroupRecordSchema>;

export const ChannelRecordSchema = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    createdAt: Type.Number(),
    /** sha256 hex of the broadcaster's resume key */
    publisherKeyHash: Type.String(),
    groups: Type.Array(GroupRecordSchema),
    peakViewers: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type ChannelRecord = Static<typeof ChannelRecordSchema>;

export const isUnitRecord = (value: unknown): value is UnitRecord => unitRecordValidator.Check(value);
export const isChannelRecord = (value: unknown): value is ChannelRecord => channelRecordValidator.Check(value);
const unitRecordValidator = Compile(UnitRecordSchema);
const channelRecordValidator = Compile(ChannelRecordSchema);

export interface ClusterSnapshot {
  epoch: number;
  units: UnitRecord[];
  channels: ChannelRecord[];
  nextChannelId: number;
}

export interface ClusterChanges {
  /** drop every stored unit and channel before the puts: this write is the whole state */
  replaceAll?: boolean;
  putUnits?: UnitRecord[];
  deleteUnits?: string[];
  putChannels?: ChannelRecord[];
  deleteChannels?: number[];
  nextChannelId?: number;
}
