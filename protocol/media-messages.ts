/**
 * The text messages on a media WebSocket, both ways, declared once for units, pages and tools.
 * Binary messages are frames (media-frame.ts); text messages are one JSON object with a `t` tag.
 * JSON rather than msgpack on purpose: these are a few per viewer per second (chat, signalling,
 * reports), WebSocket text frames carry them without a decoder in the page, and SDP is text anyway.
 *
 *   client → unit (viewer on /watch, publisher on /ingest):
 *     chat            a chat line; the unit stamps who sent it and fans it out to the whole channel
 *     keyframe        a viewer asks for a keyframe (after loss); the unit passes it on to the publisher
 *     udp-start       a viewer asks for UDP mode; the unit answers with udp-offer. `carrier`: how the
 *                     chunks travel — `datachannel` (the default: an unordered data channel) or `rtp`
 *                     (one RTP packet each on a media track, chunk-rtp.ts; cheaper for the unit)
 *     udp-answer      the viewer's SDP answer
 *     udp-candidate   an ICE candidate of the viewer
 *     udp-stop        the viewer wants frames on this WebSocket again (TCP mode)
 *     report          the viewer's own view of its stream (loss, latency), for the unit's reports
 *   unit → client:
 *     chat            a chat line of the channel
 *     keyframe        to the publisher: send a keyframe soon
 *     udp-offer       the unit's SDP offer for the data channel (or the media track)
 *     udp-candidate   an ICE candidate of the unit
 *     mode            where frames go from now on: `udp` (the data channel) or `tcp` (this socket);
 *                     the unit switches at a frame boundary, so no frame is lost across the
 *                     switch except what the network drops on UDP; when a data channel fails,
 *                     the frames it carried in the last 500 ms come again on this socket, and
 *                     the client keeps each seq once
 *
 * The parser is strict: unknown tags, extra fields and oversize strings are refused (the unit closes
 * the socket with MEDIA_BAD_MESSAGE).
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/** the longest chat line, in UTF-16 code units */
export const MAX_CHAT_LENGTH = 500;
/** the longest text message either way (an SDP with candidates fits well under it) */
export const MAX_TEXT_MESSAGE_BYTES = 16 * 1024;

const strict = { additionalProperties: false } as const;
const Sdp = Type.String({ minLength: 1, maxLength: 12 * 1024 });
/** how a UDP viewer's chunks travel (udp-start's `carrier`); also what a unit registers it serves */
export const UdpCarrierSchema = Type.Union([Type.Literal('datachannel'), Type.Literal('rtp')]);
const UdpCarrier = UdpCarrierSchema;
const Candidate = Type.Object({ t: Type.Literal('udp-candidate'), candidate: Type.String({ maxLength: 1024 }), mid: Type.String({ maxLength: 64 }) }, strict);

export const ClientMessageSchema = Type.Union([
  Type.Object({ t: Type.Literal('chat'), text: Type.String({ minLength: 1, maxLength: MAX_CHAT_LENGTH }) }, strict),
  Type.Object({ t: Type.Literal('keyframe') }, strict),
  Type.Object({ t: Type.Literal('udp-start'), carrier: Type.Optional(UdpCarrier) }, strict),
  Type.Object({ t: Type.Literal('udp-answer'), sdp: Sdp }, strict),
  Candidate,
  Type.Object({ t: Type.Literal('udp-stop') }, strict),
  Type.Object(
    {
      t: Type.Literal('report'),
      mode: Type.Union([Type.Literal('udp'), Type.Literal('tcp')]),
      /** share of frames lost over the last interval, 0–1 */
      loss: Type.Number({ minimum: 0, maximum: 1 }),
      /** the client's latency estimate (publisher send → play), ms; null when unknown */
      latencyMs: Type.Union([Type.Number({ minimum: 0, maximum: 600_000 }), Type.Null()]),
      /** what the viewer received over the last interval, kbit/s (frame bytes); older clients leave it out */
      rxKbps: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000_000 })),
    },
    strict,
  ),
]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

export const UnitMessageSchema = Type.Union([
  Type.Object(
    {
      t: Type.Literal('chat'),
      /** the sender as the unit knows it: the viewer id, or "broadcaster" */
      from: Type.String({ maxLength: 128 }),
      text: Type.String({ minLength: 1, maxLength: MAX_CHAT_LENGTH }),
      /** when the channel's root unit stamped it, ms since the epoch */
      at: Type.Number(),
    },
    strict,
  ),
  Type.Object({ t: Type.Literal('keyframe') }, strict),
  Type.Object({ t: Type.Literal('udp-offer'), sdp: Sdp }, strict),
  Candidate,
  Type.Object({ t: Type.Literal('mode'), mode: Type.Union([Type.Literal('udp'), Type.Literal('tcp')]) }, strict),
  /**
   * The unit holds this viewer's video back (audio and text go on) or gives it back: `behind`, its
   * reports say it is far behind, until it catches up; `slow-link`, its link carried less than the
   * channel, for `retryInMs` before video is tried again.
   */
  Type.Object(
    {
      t: Type.Literal('video'),
      held: Type.Boolean(),
      reason: Type.Optional(Type.Union([Type.Literal('behind'), Type.Literal('slow-link')])),
      retryInMs: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    strict,
  ),
]);
export type UnitMessage = Static<typeof UnitMessageSchema>;
/** how a UDP viewer's chunks travel: data-channel messages, or RTP packets on a media track */
export type UdpCarrier = NonNullable<Extract<ClientMessage, { t: 'udp-start' }>['carrier']>;
/** why a unit holds a viewer's video back (the `video` message) */
export type VideoHoldReason = NonNullable<Extract<UnitMessage, { t: 'video' }>['reason']>;

const clientValidator = Compile(ClientMessageSchema);
const unitValidator = Compile(UnitMessageSchema);

function parse<T>(text: string, check: (value: unknown) => boolean): T | null {
  if (text.length > MAX_TEXT_MESSAGE_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return check(value) ? (value as T) : null;
}

/** A client's text message, or null when it is not one (the unit then closes the socket). */
export function parseClientMessage(text: string): ClientMessage | null {
  return parse<ClientMessage>(text, (v) => clientValidator.Check(v));
}

/** A unit's text message, or null (clients ignore what they do not understand). */
export function parseUnitMessage(text: string): UnitMessage | null {
  return parse<UnitMessage>(text, (v) => unitValidator.Check(v));
}

export function encodeMessage(message: ClientMessage | UnitMessage): string {
  return JSON.stringify(message);
}
