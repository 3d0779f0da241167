/**
 * The result shapes of the CSM's service API (README "HTTP APIs of the CSM"), declared once: the CSM
 * builds them (csm/CsmService.ts) and the clients read them (web/client/CsmApi.ts).
 */
import type { UdpCarrier } from './media-messages.js';

/** Where and with what the broadcaster publishes (`POST /channels/:id/publish`). */
export interface IngestGrant {
  channelId: number;
  unitId: string;
  /** the unit's client-facing base URL (ws://host:port); the publisher connects there */
  url: string;
  group: string;
  ticket: string;
  expiresAt: number;
}

/** `POST /channels`: the grant plus the secret that resumes and ends the channel (shown once). */
export interface OpenChannelResult extends IngestGrant {
  publisherKey: string;
}

/** `POST /channels/:id/join` */
export interface JoinResult {
  channelId: number;
  viewerId: string;
  unitId: string;
  url: string;
  group: string;
  groupIndex: number;
  ticket: string;
  expiresAt: number;
  /** the order the client should try transports in */
  transports: ('udp' | 'tcp')[];
  /**
   * the UDP carriers the unit serves (udp-start's `carrier`); absent from a CSM of before carriers:
   * then only the data channel is sure
   */
  udpCarriers?: UdpCarrier[];
}
