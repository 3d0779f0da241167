/**
 * The knobs of the unit's UDP mode, their defaults and their checks. `maxSessions` comes from the
 * unit's configuration (`udpMaxSessions`), the bind address from its `host`; the rest are tuning a
 * test or a benchmark may change through StreamingUnit's options.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { RTP_CHUNK_PAYLOAD_MAX } from '../../../protocol/chunk-rtp.js';
import { UdpError } from './errors.js';

export interface UdpOptions {
  /** concurrent data channels (one PeerConnection each) on this unit; over it a udp-start is answered `mode: tcp`. 0 turns UDP mode off */
  maxSessions: number;
  /** the local address ICE gathers its host candidates on; null: every interface */
  bindAddress: string | null;
  /**
   * Encoded-frame bytes per data-channel message. 1,100 + the 12-byte chunk header stays under what
   * libdatachannel puts in one SCTP DATA chunk at its default 1,280-byte MTU (≈1,150 bytes after
   * IPv6, UDP, DTLS and SCTP headers): one message is one packet, so a lost packet costs one chunk
   * and SCTP never fragments (a lost fragment loses the whole message).
   */
  chunkPayload: number;
  /**
   * Encoded-frame bytes per RTP packet for viewers on the `rtp` carrier (protocol/chunk-rtp.ts): at
   * most what keeps one packet within libdatachannel's track message limit at its default MTU.
   */
  rtpChunkPayload: number;
  /** while the data channel's bufferedAmount is at or over this, video frames are skipped (audio and text still go) */
  sendBound: number;
  /**
   * usrsctp's own send buffer per association, in bytes; null: libdatachannel's default (about 1 MiB
   * measured). bufferedAmount only counts what that buffer refuses, so the queue a congested viewer
   * builds is this plus `sendBound`. Process-wide (node-datachannel's setSctpSettings): it applies to
   * peer connections created after it is set, in this whole process.
   */
  sctpSendBufferBytes: number | null;
  /** at or over this nothing is read for the viewer (the ring's backlog rules take over) until the channel drains below `sendBound` */
  hardBound: number;
  /** from udp-start until the data channel opens; past it the viewer stays on TCP */
  signallingTimeoutMs: number;
  /**
   * When a viewer's open data channel fails, the frames sent on it this recently are sent again on
   * the WebSocket (the viewer drops the ones it has): what died in flight is not lost. 0: none.
   */
  resendWindowMs: number;
  /** after udp-stop the peer connection stays this long, sending nothing, so that what its channel still queues arrives */
  stopLingerMs: number;
  /**
   * The one UDP port every data channel of this unit uses (libjuice's ICE UDP mux: one socket,
   * sessions told apart by their ICE credentials and addresses). 0: the unit sets it once it knows
   * its media port (StreamingUnit: `udpPort`, or the media port's number). One socket instead of one
   * per viewer: libjuice's poll thread no longer scans every viewer's socket at each packet, which
   * measured 15–17 % more Mbit/s per core at 100 viewers, and a firewall opens one port per unit.
   */
  port: number;
}

export const UDP_DEFAULTS: Readonly<UdpOptions> = Object.freeze({
  maxSessions: 1000,
  bindAddress: null,
  chunkPayload: 1100,
  rtpChunkPayload: RTP_CHUNK_PAYLOAD_MAX,
  // Above the largest keyframe a 2 Mbit/s stream makes (31–48 KB in the recorded 720p VP8 clip), so
  // that sending one keyframe does not by itself make the next frames of its GOP count as congestion;
  // small enough that a congested viewer's audio is late by under a second, not several.
  sendBound: 128 * 1024,
  hardBound: 512 * 1024,
  // usrsctp's own send buffer (about 1 MiB by default) hides a backlog from bufferedAmount; 256 KiB
  // still covers the bandwidth-delay product of 2 Mbit/s at 1 s of RTT.
  sctpSendBufferBytes: 256 * 1024,
  signallingTimeoutMs: 10_000,
  resendWindowMs: 500,
  stopLingerMs: 500,
  port: 0,
});

export function resolveUdpOptions(input: Partial<UdpOptions> = {}): Readonly<UdpOptions> {
  const o: UdpOptions = { ...UDP_DEFAULTS, ...stripUndefined(input) };
  const problems: string[] = [];
  const int = (name: keyof UdpOptions, min: number, max: number): void => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push(`${name} ${String(v)} is not an integer in ${min}…${max}`);
  };
  int('maxSessions', 0, 100_000);
  // The chunk header counts its chunks in a u16; at least 256 bytes keeps the overhead small.
  int('chunkPayload', 256, 64 * 1024);
  int('rtpChunkPayload', 256, RTP_CHUNK_PAYLOAD_MAX);
  int('sendBound', 1, 256 * 1024 * 1024);
  int('hardBound', 1, 1024 * 1024 * 1024);
  int('signallingTimeoutMs', 100, 600_000);
  int('resendWindowMs', 0, 10_000);
  int('stopLingerMs', 0, 10_000);
  if (o.sctpSendBufferBytes !== null) int('sctpSendBufferBytes', 16 * 1024, 64 * 1024 * 1024);
  int('port', 0, 65535);
  if (o.hardBound < o.sendBound) problems.push(`hardBound ${o.hardBound} is below sendBound ${o.sendBound}`);
  if (o.bindAddress !== null && isIP(o.bindAddress) === 0) problems.push(`bindAddress ${o.bindAddress} is not an IP address`);
  if (problems.length > 0) throw new UdpError('UDP_ERR_BAD_OPTIONS', problems.join('; '));
  return Object.freeze(o);
}

/**
 * The address to gather ICE candidates on for a unit listening on `host`: that very address when it
 * is one IP (a unit on 127.0.0.1 offers loopback candidates only, which is what tests and a
 * single-host cluster need), every interface for a wildcard or a name.
 */
export function udpBindAddress(host: string): string | null {
  if (host === '0.0.0.0' || host === '::' || isIP(host) === 0) return null;
  return host;
}

/**
 * The UDP port for a unit whose `udpPort` is 0: the media port's number when that UDP port is free
 * on `bindAddress`, else one the system picks (logged by the caller). Checked by binding once; libjuice
 * binds it for good at the first session.
 */
export async function freeUdpPortNear(preferred: number, bindAddress: string | null): Promise<{ port: number; preferredTaken: boolean }> {
  const tryBind = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const socket = createSocket(bindAddress && isIP(bindAddress) === 6 ? 'udp6' : 'udp4');
      socket.once('error', () => {
        socket.close();
        resolve(null);
      });
      socket.bind(port, bindAddress ?? undefined, () => {
        const bound = socket.address().port;
        socket.close(() => resolve(bound));
      });
    });
  const preferredPort = await tryBind(preferred);
  if (preferredPort !== null) return { port: preferredPort, preferredTaken: false };
  const any = await tryBind(0);
  if (any === null) throw new UdpError('UDP_ERR_BAD_OPTIONS', `no UDP port can be bound on ${bindAddress ?? 'any address'}`);
  return { port: any, preferredTaken: true };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
