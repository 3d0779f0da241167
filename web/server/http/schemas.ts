/**
 * The browser API's shapes (protocol/web-api.ts) as TypeBox schemas. Requests are strict; responses
 * are declared so the OpenAPI document says what comes back and only declared fields are sent. The
 * `Same<…>` checks at the bottom fail the build when a schema drifts from the shared types.
 */
import Type, { type Static, type TSchema } from 'typebox';
import type { IngestGrant, JoinResult, OpenChannelResult } from '../../../protocol/service-api.js';
import type { WebChannel, WebChannelList } from '../../../protocol/web-api.js';
import { IngestGrantSchema, JoinResultSchema, OpenChannelResultSchema } from '../../../protocol/service-api-schemas.js';

const strict = { additionalProperties: false } as const;
const Count = Type.Integer({ minimum: 0 });
const Millis = Type.Number({ description: 'ms since the epoch' });

export const WebChannelSchema = Type.Object(
  {
    channelId: Type.Integer({ minimum: 1 }),
    title: Type.String(),
    broadcaster: Type.String(),
    startedAt: Millis,
    viewers: Count,
    peakViewers: Count,
    publisherConnected: Type.Boolean({ description: 'false while the broadcaster is away' }),
    endedAt: Type.Optional(Type.Number({ description: 'ms since the epoch; only on an ended channel' })),
  },
  strict,
);
export const WebChannelListSchema = Type.Object({ channels: Type.Array(WebChannelSchema, { description: 'live channels, newest first' }) }, strict);

export const WebHealthSchema = Type.Object(
  {
    ok: Type.Boolean(),
    webId: Type.String(),
    csm: Type.Enum(['reachable', 'unreachable'], { description: 'whether the CSM answered the last channel sync' }),
    lastSyncAt: Type.Union([Millis, Type.Null()], { description: 'the last completed channel sync; null before the first' }),
    loopStalledMs: Count,
  },
  strict,
);

export const ErrorBodyProperties = {
  code: Type.String({ description: "a WEB_ERR_* code, or the CSM's CSM_ERR_* code passed through" }),
  message: Type.String(),
  retryable: Type.Boolean({ description: 'the same request may succeed if simply sent again' }),
};
export const ErrorBodySchema = Type.Object(ErrorBodyProperties, strict);
export type ErrorBody = Static<typeof ErrorBodySchema>;

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'WEB_ERR_VALIDATION / WEB_ERR_BAD_JSON',
  403: 'CSM_ERR_BAD_PUBLISHER_KEY (from the CSM)',
  404: 'WEB_ERR_NO_SUCH_CHANNEL, or CSM_ERR_NO_SUCH_CHANNEL from the CSM',
  413: 'WEB_ERR_BODY_TOO_LARGE',
  415: 'WEB_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'WEB_ERR_RATE_LIMITED, or CSM_ERR_RATE_LIMITED from the CSM (Retry-After says when)',
  500: 'WEB_ERR_INTERNAL',
  502: 'WEB_ERR_CSM_BAD_RESPONSE / WEB_ERR_CSM_REFUSED',
  503: 'WEB_ERR_CSM_UNAVAILABLE / WEB_ERR_STORE_UNAVAILABLE / WEB_ERR_CLOSING, or CSM_ERR_NO_CAPACITY / CSM_ERR_NOT_ACTIVE from the CSM (Retry-After)',
};

/** A route's response map: its success schemas plus the error body under each error status it can answer. */
export function responses(ok: Record<number, TSchema>, errors: readonly number[]): Record<number, TSchema> {
  const map: Record<number, TSchema> = { ...ok };
  for (const status of new Set([...errors, 429, 500])) {
    map[status] = Type.Object(ErrorBodyProperties, { ...strict, description: ERROR_DESCRIPTIONS[status] ?? 'error' });
  }
  return map;
}

// ── the schemas must describe the shared types ──────────────────────────────────────────────────

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const schemasMatchProtocol: {
  channel: Same<Static<typeof WebChannelSchema>, WebChannel>;
  list: Same<Static<typeof WebChannelListSchema>, WebChannelList>;
  open: Same<Static<typeof OpenChannelResultSchema>, OpenChannelResult>;
  join: Same<Static<typeof JoinResultSchema>, JoinResult>;
  ingest: Same<Static<typeof IngestGrantSchema>, IngestGrant>;
} = { channel: true, list: true, open: true, join: true, ingest: true };
