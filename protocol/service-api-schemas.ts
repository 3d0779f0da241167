/**
 * The service API's request and answer shapes as TypeBox schemas, declared once for the two servers
 * that offer them: the CSM (`/api/v1`, csm/http/service-routes.ts) and the web server, which takes
 * the same requests from browsers and passes the CSM's answers through (web/server/http/api-routes.ts).
 * The TypeScript types the clients use are in service-api.ts; csm/http/schemas.ts checks at build time
 * that these schemas and those types agree.
 */
import Type from 'typebox';
import { UdpCarrierSchema } from './media-messages.js';

export const strict = { additionalProperties: false } as const;
export const Count = Type.Integer({ minimum: 0 });
export const Millis = Type.Number({ description: 'ms since the epoch' });

// The same bounds as protocol/control-messages.ts, so every id accepted here is one a unit can carry.
export const ChannelId = Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1, description: 'channel number' });
export const ChannelParams = Type.Object({ id: ChannelId }, strict);
export const OpenChannelBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 120 }),
    broadcaster: Type.String({ minLength: 1, maxLength: 60 }),
  },
  strict,
);
/** a POST that carries no data still takes a JSON object, so a stray field is refused rather than ignored */
export const EmptyBody = Type.Object({}, strict);
export const PublisherKeyBody = Type.Object({ publisherKey: Type.String({ minLength: 1, maxLength: 256 }) }, strict);
export const IngestGrantProperties = {
  channelId: ChannelId,
  unitId: Type.String(),
  url: Type.String({ description: "the unit's client-facing base URL" }),
  group: Type.String(),
  ticket: Type.String({ description: 'publish ticket (JWT)' }),
  expiresAt: Millis,
};
export const IngestGrantSchema = Type.Object(IngestGrantProperties, strict);
export const OpenChannelResultSchema = Type.Object(
  { ...IngestGrantProperties, publisherKey: Type.String({ description: 'keep it: it resumes and ends the channel; shown once' }) },
  strict,
);
export const JoinResultSchema = Type.Object(
  {
    channelId: ChannelId,
    viewerId: Type.String(),
    unitId: Type.String(),
    url: Type.String(),
    group: Type.String(),
    groupIndex: Count,
    ticket: Type.String({ description: 'viewer ticket (JWT) for this unit and group' }),
    expiresAt: Millis,
    transports: Type.Array(Type.Enum(['udp', 'tcp']), { description: 'try in this order' }),
    udpCarriers: Type.Optional(Type.Array(UdpCarrierSchema, { description: "the UDP carriers the viewer's unit serves (udp-start's carrier)" })),
  },
  strict,
);
