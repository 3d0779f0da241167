/**
 * The browser benchmark's baseline (`onair bench browser`, test/bench/browser/): the broadcast
 * page's capture and encoders feeding the watch page's player directly, in one page — no socket, no
 * web server, no unit. Its glass-to-glass latency is what the codecs, the capture and the player's
 * own buffering cost on this machine; the site's figure over it is what the network path adds.
 *
 * Not a page of the site (bin/build-pages.ts bundles only web/pages/*.ts): the benchmark bundles it and
 * serves it next to a canvas#player. Query: `?preset=720p&codec=vp8`. Hook: the watch page's
 * `window.onair` (WatchStats), so the benchmark reads both the same way.
 */
import { AudioPipeline } from '../broadcast/AudioPipeline.js';
import { emptyStats } from '../broadcast/BroadcastStats.js';
import { Capture } from '../broadcast/Capture.js';
import { FrameSender } from '../broadcast/FrameSender.js';
import { presetById, VIDEO_CODECS } from '../broadcast/presets.js';
import { VideoPipeline } from '../broadcast/VideoPipeline.js';
import { Player } from '../watch/Player.js';
import { installHook, WatchStats } from '../watch/WatchStats.js';

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const preset = presetById(query.get('preset') ?? '720p');
  const codec = VIDEO_CODECS.find((c) => c.name === (query.get('codec') ?? 'vp8'));
  if (!codec) throw new Error(`unknown codec ${query.get('codec')}`);
  const canvas = document.querySelector<HTMLCanvasElement>('canvas#player');
  if (!canvas) throw new Error('canvas#player missing');

  const stats = new WatchStats();
  installHook(stats.hook);
  let video: VideoPipeline | null = null;
  const player = new Player(canvas, stats, { needKeyframe: () => video?.requestKeyframe(), problem: (message) => console.warn(message) });
  // The player's audio clock runs only while its AudioContext may (autoplay is allowed in the benchmark's Chromium).
  const sender = new FrameSender({ channelId: 1, send: (frame) => (player.frame(frame), true) }, emptyStats(), () => video?.requestKeyframe());
  const capture = new Capture();
  const stream = await capture.start({ cameraId: null, microphoneId: null, preset });
  video = new VideoPipeline({
    codec,
    preset,
    onChunk: (chunk) => sender.sendVideo(chunk, codec.name),
    onDropped: () => {},
    onFatal: (error) => console.error(error),
  });
  const audio = new AudioPipeline({ onChunk: (chunk, stamp) => sender.sendAudio(chunk, stamp), onDropped: () => {}, onFatal: (error) => console.error(error) });
  const videoTrack = stream.getVideoTracks()[0];
  const audioTrack = stream.getAudioTracks()[0];
  if (!videoTrack) throw new Error('no camera track');
  video.attach(videoTrack);
  if (audioTrack) audio.attach(audioTrack);
  stats.hook.state = 'playing';
}

main().catch((error: unknown) => {
  console.error(error);
  const hook = (window as unknown as { onair?: { state: string } }).onair;
  if (hook) hook.state = 'error';
});
