/**
 * Why a streaming unit closed a media WebSocket (ingest `/ingest/:channelId`, TCP viewer
 * `/watch/:channelId`), declared once for the units, the broadcaster page, the player and tests.
 *
 * Ticket refusals keep their own block 4400–4408 (protocol/ticket-errors.ts); these codes follow it,
 * 4409–4426, in the same private range. `message` goes out as the close reason (each fits the
 * 123-byte limit). `rejoin` tells the client what to do next: true means "ask the web server / CSM to
 * join again" (a fresh ticket, possibly another unit); false means retrying the same request cannot help.
 */
export interface MediaCloseSpec {
  readonly closeCode: number;
  readonly message: string;
  readonly rejoin: boolean;
}

export const MEDIA_CLOSE = {
  MEDIA_NOT_ROOT_UNIT: { closeCode: 4409, message: 'this unit does not hold the root group of the channel', rejoin: true },
  MEDIA_BAD_FRAME: { closeCode: 4410, message: 'the message is not a valid media frame', rejoin: false },
  MEDIA_BAD_REQUEST: { closeCode: 4411, message: 'the path does not name a valid channel id', rejoin: false },
  MEDIA_ORIGIN_REFUSED: { closeCode: 4412, message: 'the page origin is not allowed on this unit', rejoin: false },
  MEDIA_TOO_MANY_CONNECTIONS: { closeCode: 4413, message: 'too many connections from this address', rejoin: false },
  MEDIA_REPLACED: { closeCode: 4414, message: 'a newer connection with the same identity replaced this one', rejoin: false },
  MEDIA_BAD_MESSAGE: { closeCode: 4415, message: 'the text message is not a valid media message', rejoin: false },
  MEDIA_FRAME_WRONG_CHANNEL: { closeCode: 4416, message: 'the frame is for another channel', rejoin: false },
  MEDIA_FRAME_TOO_LARGE: { closeCode: 4417, message: "the frame is larger than the channel's ring buffer admits", rejoin: false },
  MEDIA_NO_SUCH_GROUP: { closeCode: 4418, message: 'the ticket names a group this unit does not serve for the channel', rejoin: true },
  MEDIA_DISABLED: { closeCode: 4419, message: 'this unit has no ticket key configured; media is disabled', rejoin: true },
  MEDIA_REJOIN: { closeCode: 4420, message: 'the channel moved or ended here: join again through the CSM', rejoin: true },
  MEDIA_GROUP_FULL: { closeCode: 4421, message: 'the group has no free viewer slot', rejoin: true },
  MEDIA_TOO_SLOW: { closeCode: 4422, message: 'the connection cannot keep up with the stream', rejoin: true },
  MEDIA_UNEXPECTED_MESSAGE: { closeCode: 4423, message: 'viewers send no binary messages', rejoin: false },
  MEDIA_UNIT_CLOSING: { closeCode: 4424, message: 'the unit is shutting down: join again through the CSM', rejoin: true },
  MEDIA_TOO_EARLY: { closeCode: 4425, message: 'too much data before the ticket was verified', rejoin: false },
  MEDIA_RELAY_REFUSED: { closeCode: 4426, message: 'the relay link is not signed with the cluster secret, or the signature is stale', rejoin: false },
} as const satisfies Record<string, MediaCloseSpec>;

export type MediaCloseReason = keyof typeof MEDIA_CLOSE;

/** Close code → reason name, for clients that read the code back. */
export const MEDIA_CLOSE_BY_CODE: ReadonlyMap<number, MediaCloseReason> = new Map(
  (Object.entries(MEDIA_CLOSE) as [MediaCloseReason, MediaCloseSpec][]).map(([name, spec]) => [spec.closeCode, name]),
);
