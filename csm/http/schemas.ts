/**
 * Every request and response shape of the CSM's HTTP API, declared once as TypeBox schemas. Requests
 * are strict (unknown properties are refused, not stripped); responses are declared too, so the
 * OpenAPI document describes what comes back and fastify serializes only the declared fields.
 *
 * The `Same<…>` checks at the bottom fail the build when a response schema drifts from the type the
 * CsmService method returns, so the document cannot silently go stale.
 */
import Type, { type Static, type TSchema } from 'typebox';
import type { ChannelInfo, ClusterSummary, IngestGrant, JoinResult, OpenChannelResult } from '../CsmService.js';
import type { GroupView, TreeNodeView, UnitView } from '../cluster/views.js';
import type { LogEvent } from '../../protocol/store/EventLog.js';
import { EVENT_KINDS } from '../../protocol/event-kinds.js';
import { MAX_QUERY_LIMIT } from '../../protocol/store/event-log-rules.js';
import {
  ChannelId,
  ChannelParams,
  Count,
  EmptyBody,
  IngestGrantSchema,
  JoinResultSchema,
  Millis,
  OpenChannelBody,
  OpenChannelResultSchema,
  PublisherKeyBody,
  strict,
} from '../../protocol/service-api-schemas.js';

export { ChannelId, ChannelParams, EmptyBody, IngestGrantSchema, JoinResultSchema, OpenChannelBody, OpenChannelResultSchema, PublisherKeyBody };


// ── ids (the same bounds as protocol/control-messages.ts, so every id accepted here is one a unit can carry) ──

export const UnitId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: 'streaming unit id' });

// ── requests ────────────────────────────────────────────────────────────────────────────────────

export const UnitParams = Type.Object({ unitId: UnitId }, strict);

export const CapacityBody = Type.Object(
  {
    groupsPerUnit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'groups the unit holds; not below the highest group index in use + 1' })),
    groupSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'viewer slots of groups created from now on' })),
  },
  { ...strict, minProperties: 1 },
);

export const ExpandBody = Type.Object({ groups: Type.Integer({ minimum: 1, maximum: 100 }) }, strict);

export const GroupsQuery = Type.Object({ unitId: Type.Optional(UnitId) }, strict);
export const EventKindSchema = Type.Enum([...EVENT_KINDS]);
export const EventsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_QUERY_LIMIT, description: 'newest first; default 100' })),
    // the log's id form "ms-seq" (a Redis stream id); a malformed one would otherwise fail inside the store
    beforeId: Type.Optional(Type.String({ maxLength: 41, pattern: '^[0-9]{1,20}-[0-9]{1,20}$', description: 'only events older than this id (paging)' })),
    unitId: Type.Optional(UnitId),
    channelId: Type.Optional(ChannelId),
    // Repeated (?kind=a&kind=b) or comma-separated (?kind=a,b); see validation.ts.
    kind: Type.Optional(Type.Array(EventKindSchema, { maxItems: EVENT_KINDS.length, description: 'any of these kinds; repeat the key or separate with commas' })),
  },
  strict,
);

// ── responses ───────────────────────────────────────────────────────────────────────────────────


export const ErrorBodyProperties = {
  code: Type.String({ description: 'a CSM_ERR_* code' }),
  message: Type.String(),
  retryable: Type.Boolean({ description: 'the same request may succeed if simply sent again' }),
};
export type ErrorBody = { code: string; message: string; retryable: boolean };



export const ChannelInfoSchema = Type.Object(
  {
    id: ChannelId,
    title: Type.String(),
    broadcaster: Type.String(),
    createdAt: Millis,
    viewers: Count,
    peakViewers: Count,
    maxViewers: Count,
    groups: Count,
    units: Type.Array(Type.String()),
    depth: Count,
    publisherConnected: Type.Boolean(),
    rehomedAt: Type.Number({ description: 'ms since the epoch of the last re-home; 0 if never' }),
    root: Type.Object({ group: Type.String(), unitId: Type.String(), address: Type.String() }, strict),
    media: Type.Array(
      Type.Object(
        {
          unitId: Type.String(),
          reportedAt: Millis,
          bitrateBps: Type.Number({ minimum: 0, description: 'ingest (root) or relayed bitrate of the channel on that unit' }),
          backlogFrames: Count,
          videoSkips: Count,
          drops: Count,
          udpViewers: Count,
          tcpViewers: Count,
          relayChildren: Count,
        },
        strict,
      ),
      { description: "each serving unit's last media report for the channel" },
    ),
  },
  strict,
);
export const ChannelListSchema = Type.Object({ channels: Type.Array(ChannelInfoSchema) }, strict);

export const GroupViewSchema = Type.Object(
  {
    key: Type.String({ description: '"unitId/index"' }),
    unitId: Type.String(),
    index: Count,
    channelId: ChannelId,
    role: Type.Enum(['root', 'member']),
    parent: Type.Union([Type.String(), Type.Null()]),
    viewers: Count,
    capacity: Count,
  },
  strict,
);

const UnitViewProperties = {
  id: Type.String(),
  address: Type.String(),
  state: Type.String({ description: 'up | draining | failed' }),
  connected: Type.Boolean(),
  lastHeartbeatAt: Millis,
  groupsPerUnit: Count,
  groupSize: Count,
  usedGroups: Count,
  viewers: Count,
  load: Type.Object({ viewers: Count, egressBps: Type.Number(), cpu: Type.Number(), rssBytes: Type.Number() }, strict),
  channels: Type.Array(ChannelId),
};
export const UnitViewSchema = Type.Object(UnitViewProperties, strict);
export const UnitDetailSchema = Type.Object(
  { ...UnitViewProperties, groups: Type.Array(Type.Union([GroupViewSchema, Type.Null()]), { description: 'by group index; null = free' }) },
  strict,
);

/**
 * The channel tree is recursive, which a plain inline schema cannot say: it is added once to the
 * instance (fastify.addSchema) and referenced by $id, so the serializer and OpenAPI both resolve it.
 */
export const TREE_NODE_ID = 'TreeNode';
export const TreeNodeSchema = Type.Object(
  {
    unitId: Type.String(),
    address: Type.String(),
    depth: Count,
    groups: Type.Array(Type.String()),
    viewers: Count,
    children: Type.Array(Type.Ref(TREE_NODE_ID)),
  },
  { ...strict, $id: TREE_NODE_ID, title: TREE_NODE_ID },
);
export const ChannelTreeSchema = Type.Union([Type.Ref(TREE_NODE_ID), Type.Null()], { description: 'null when the channel has no root presence' });

export const ClusterSummarySchema = Type.Object(
  {
    csmId: Type.String(),
    role: Type.Enum(['active', 'backup']),
    epoch: Count,
    units: Type.Object({ total: Count, up: Count, draining: Count, failed: Count }, strict),
    channels: Count,
    viewers: Count,
    groupsUsed: Count,
    groupsTotal: Count,
  },
  strict,
);

export const LogEventSchema = Type.Object(
  {
    id: Type.String(),
    at: Millis,
    kind: EventKindSchema,
    unitId: Type.Optional(Type.String()),
    channelId: Type.Optional(Type.Integer()),
    actor: Type.Optional(Type.String({ description: "an operator's name for operator actions" })),
    message: Type.String(),
    data: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
  },
  strict,
);
export const EventListSchema = Type.Object({ events: Type.Array(LogEventSchema) }, strict);

export const EvacuateResultSchema = Type.Object({ moved: Type.Array(ChannelId, { description: 'channels that had groups there' }) }, strict);
export const ShrinkResultSchema = Type.Object({ released: Count }, strict);
export const HealthSchema = Type.Object({ ok: Type.Boolean(), detail: Type.Record(Type.String(), Type.Unknown()) }, strict);
export const NoContent = Type.Null({ description: 'No Content' });

// ── error responses, for the document ───────────────────────────────────────────────────────────

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'CSM_ERR_VALIDATION: the request did not match its schema',
  401: 'CSM_ERR_UNAUTHORIZED: credentials missing or wrong',
  403: 'CSM_ERR_BAD_PUBLISHER_KEY: wrong publisher key',
  404: 'CSM_ERR_NO_SUCH_CHANNEL / CSM_ERR_NO_SUCH_UNIT / CSM_ERR_NOT_FOUND',
  409: 'CSM_ERR_UNIT_STATE / CSM_ERR_UNIT_NOT_EMPTY',
  429: 'CSM_ERR_RATE_LIMITED (Retry-After says when)',
  500: 'CSM_ERR_INTERNAL',
  503: 'CSM_ERR_NO_CAPACITY / CSM_ERR_NOT_ACTIVE / CSM_ERR_CLOSING (Retry-After: 1)',
};

/** A route's response map: its success schemas plus the error body under each error status it can answer. */
export function responses(ok: Record<number, TSchema>, errors: readonly number[]): Record<number, TSchema> {
  const map: Record<number, TSchema> = { ...ok };
  for (const status of new Set([...errors, 500])) {
    map[status] = Type.Object(ErrorBodyProperties, { ...strict, description: ERROR_DESCRIPTIONS[status] ?? 'error' });
  }
  return map;
}

// ── the schemas above must describe what CsmService returns ─────────────────────────────────────

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type TreeNodeShape = Omit<Static<typeof TreeNodeSchema>, 'children'> & { children: TreeNodeView[] };
export const schemasMatchService: {
  ingest: Same<Static<typeof IngestGrantSchema>, IngestGrant>;
  open: Same<Static<typeof OpenChannelResultSchema>, OpenChannelResult>;
  join: Same<Static<typeof JoinResultSchema>, JoinResult>;
  channel: Same<Static<typeof ChannelInfoSchema>, ChannelInfo>;
  group: Same<Static<typeof GroupViewSchema>, GroupView>;
  unit: Same<Static<typeof UnitViewSchema>, UnitView>;
  unitDetail: Same<Static<typeof UnitDetailSchema>, UnitView & { groups: (GroupView | null)[] }>;
  tree: Same<TreeNodeShape, TreeNodeView>;
  summary: Same<Static<typeof ClusterSummarySchema>, ClusterSummary>;
  event: Same<Static<typeof LogEventSchema>, LogEvent>;
} = { ingest: true, open: true, join: true, channel: true, group: true, unit: true, unitDetail: true, tree: true, summary: true, event: true };
