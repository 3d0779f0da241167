/**
 * The viewers' side of udp-probe.ts, in a child process of its own so that their receive work is not
 * counted as the unit's. Driven over IPC:
 *   viewers {url, channelId, udp, entries[]}   start one real client viewer (Viewer) per entry
 *   answer  {sdp}                              loop mode: answer the probe's raw offer, then count what arrives
 *   answer-track {sdp}                         track-loop mode: the same for an RTP video track (native API)
 *   stats                                      → {t:'stats', viewers, udp, frames, bytes, framesLost, chunks}
 *   stop                                       close everything and exit
 * It tells the parent `{t:'ready'}` when every viewer is on the path asked for.
 */
import { cleanup, PeerConnection as NativePeerConnection, type Track } from 'node-datachannel';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import type { JoinResult } from '../../web/client/CsmApi.js';
import type { RtcDataChannelLike, RtcPeerConnectionConstructor, RtcPeerConnectionLike } from '../../web/client/rtc.js';
import { Viewer } from '../../web/client/Viewer.js';

type Entry = { viewerId: string; groupIndex: number; ticket: string };
type Command =
  | { t: 'viewers'; url: string; unitId: string; channelId: number; udp: boolean; entries: Entry[] }
  | { t: 'answer'; sdp: string }
  | { t: 'answer-track'; sdp: string }
  | { t: 'candidate'; candidate: string; mid: string }
  | { t: 'stats' }
  | { t: 'stop' };

const PeerConnection: RtcPeerConnectionConstructor = RTCPeerConnection;
const viewers: Viewer[] = [];
const counts = { frames: 0, bytes: 0, chunks: 0 };
let loopPc: RtcPeerConnectionLike | null = null;
let trackPc: NativePeerConnection | null = null;
/** the receiving tracks, referenced for as long as the process counts what they get */
const tracks: Track[] = [];
let wantUdp = false;
let readySent = false;

const send = (message: unknown): void => {
  process.send?.(message);
};

function checkReady(): void {
  if (readySent || viewers.length === 0) return;
  if (viewers.every((v) => v.state === 'open' && v.mode === (wantUdp ? 'udp' : 'tcp') && v.stats.frames.video > 0)) {
    readySent = true;
    send({ t: 'ready' });
  }
}

function startViewers(command: Extract<Command, { t: 'viewers' }>): void {
  wantUdp = command.udp;
  for (const entry of command.entries) {
    const api = {
      join: async (channelId: number): Promise<JoinResult> => ({
        channelId,
        viewerId: entry.viewerId,
        unitId: command.unitId,
        url: command.url,
        group: `g${entry.groupIndex}`,
        groupIndex: entry.groupIndex,
        ticket: entry.ticket,
        expiresAt: Date.now() + 600_000,
        transports: ['udp', 'tcp'],
        udpCarriers: ['datachannel', 'rtp'],
      }),
    };
    const viewer = new Viewer({
      api,
      WebSocket,
      channelId: command.channelId,
      maxAttempts: 1,
      now: () => performance.now(),
      ...(command.udp ? { udp: { RTCPeerConnection, rtcConfiguration: { bindAddress: '127.0.0.1' }, openTimeoutMs: 20_000, lossThreshold: 1 } } : {}),
    });
    viewer.events.on('frame', (frame) => {
      counts.frames++;
      counts.bytes += frame.payload.byteLength;
    });
    viewers.push(viewer);
    void viewer.start().catch((error: Error) => send({ t: 'error', message: error.message }));
  }
  let ticks = 0;
  const timer = setInterval(() => {
    checkReady();
    if (readySent) clearInterval(timer);
    else if (++ticks % 100 === 0) {
      // Every 5 s while not ready: where the viewers are, on stderr.
      const modes: Record<string, number> = {};
      for (const v of viewers) {
        const key = `${v.state}/${v.mode}/fallback:${v.stats.udp.lastFallback ?? '-'}`;
        modes[key] = (modes[key] ?? 0) + 1;
      }
      process.stderr.write(`udp-probe viewers: ${JSON.stringify(modes)}\n`);
    }
  }, 50);
}

async function answer(sdp: string): Promise<void> {
  const pc = new PeerConnection({ iceServers: [], bindAddress: '127.0.0.1' });
  loopPc = pc;
  pc.ondatachannel = (event: { channel: RtcDataChannelLike }) => {
    const channel = event.channel;
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (e: { data: ArrayBuffer }) => {
      counts.chunks++;
      counts.bytes += e.data.byteLength;
    };
  };
  pc.onicecandidate = (event: { candidate?: { candidate?: string; sdpMid?: string | null } | null }) => {
    if (event.candidate?.candidate) send({ t: 'candidate', candidate: event.candidate.candidate, mid: event.candidate.sdpMid ?? '0' });
  };
  await pc.setRemoteDescription({ type: 'offer', sdp });
  const local = await pc.createAnswer();
  await pc.setLocalDescription(local);
  send({ t: 'answer', sdp: local.sdp });
}

/**
 * track-loop: whatever RTP packets arrive on the offered video track are counted (libdatachannel
 * decrypts SRTP, nothing depacketizes). The Track is kept in `tracks`: a native Track that is
 * garbage-collected silently stops calling its onMessage.
 */
function answerTrack(sdp: string): void {
  const pc = new NativePeerConnection('probe-rx', { iceServers: [], bindAddress: '127.0.0.1' });
  trackPc = pc;
  pc.onTrack((track) => {
    tracks.push(track);
    track.onMessage((message) => {
      counts.chunks++;
      counts.bytes += message.length;
    });
  });
  pc.onLocalDescription((local, type) => {
    if (type === 'answer') send({ t: 'answer', sdp: local });
  });
  pc.onLocalCandidate((candidate, mid) => send({ t: 'candidate', candidate, mid }));
  pc.setRemoteDescription(sdp, 'offer');
}

process.on('message', (command: Command) => {
  switch (command.t) {
    case 'viewers':
      return startViewers(command);
    case 'answer':
      void answer(command.sdp);
      return;
    case 'answer-track':
      return answerTrack(command.sdp);
    case 'candidate':
      if (trackPc) trackPc.addRemoteCandidate(command.candidate, command.mid);
      else void loopPc?.addIceCandidate({ candidate: command.candidate, sdpMid: command.mid });
      return;
    case 'stats': {
      let framesLost = 0;
      let chunks = counts.chunks;
      let udp = 0;
      for (const v of viewers) {
        const s = v.stats.udp;
        framesLost += s.framesLost;
        chunks += s.chunksReceived;
        if (v.mode === 'udp') udp++;
      }
      send({ t: 'stats', viewers: viewers.length, udp, frames: counts.frames, bytes: counts.bytes, framesLost, chunks });
      return;
    }
    case 'stop':
      for (const v of viewers) v.close();
      loopPc?.close();
      trackPc?.close();
      setTimeout(() => {
        cleanup();
        process.exit(0);
      }, 100);
      return;
  }
});
send({ t: 'started' });
