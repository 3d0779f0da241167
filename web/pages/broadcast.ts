/**
 * The broadcast page: set up the camera, go live, see how it goes, chat, end.
 *
 * This file wires the parts together and owns the page state (window.onair.state):
 *   ready → connecting → live ⇄ reconnecting → ended (→ connecting again: a new channel)
 *   error: no camera permission, no WebCodecs, the API refused, the broadcast failed for good.
 * Capture runs from page load (the preview), independent of the broadcast, so the camera or
 * microphone can be switched while live. The broadcast itself is broadcast/Broadcast.ts.
 */
import { ChatPanel } from './shared/ChatPanel.js';
import { byId } from './shared/dom.js';
import { Broadcast, type BroadcastState } from './broadcast/Broadcast.js';
import { resetStats } from './broadcast/BroadcastStats.js';
import { Capture, CaptureError } from './broadcast/Capture.js';
import { installHooks, type PageState } from './broadcast/hooks.js';
import { LiveView } from './broadcast/LiveView.js';
import { supportedVideoCodecs, type VideoCodecChoice } from './broadcast/presets.js';
import { SetupForm } from './broadcast/SetupForm.js';
import { broadcastUnsupported } from './broadcast/support.js';

const STATS_REFRESH_MS = 500;

const query = new URLSearchParams(location.search);
const hooks = installHooks();
const view = new LiveView();
const form = new SetupForm(query);
const capture = new Capture();
const chat = new ChatPanel(byId('chat', HTMLElement), (text) => broadcast?.sendChat(text) ?? false, { self: 'broadcaster' });
const chatInput = byId('chat', HTMLElement).querySelector<HTMLInputElement>('.chat-input')!;
const chatSend = byId('chat', HTMLElement).querySelector<HTMLButtonElement>('.chat-send')!;

let broadcast: Broadcast | null = null;
let codecs: Promise<VideoCodecChoice[]> = Promise.resolve([]);
let capturing: Promise<boolean> | null = null;
let captureError = '';
let autostart = query.get('autostart') === '1';
/** End was pressed while the channel was still being opened */
let endRequested = false;

function setState(state: PageState, message = ''): void {
  hooks.state = state;
  view.showState(state, message);
  form.lock(state === 'connecting' || state === 'live' || state === 'reconnecting');
  chatInput.disabled = state !== 'live' && state !== 'reconnecting';
  chatSend.disabled = chatInput.disabled;
  chatInput.placeholder = chatInput.disabled ? 'Chat opens when live' : 'Say something…';
}

/** Opens the camera and microphone for the form's choices; true when capture runs. */
function startCapture(): Promise<boolean> {
  const run = async (): Promise<boolean> => {
    const { cameraId, microphoneId, preset } = form.values();
    try {
      const stream = await capture.start({ cameraId, microphoneId, preset });
      view.preview.srcObject = stream;
      view.showCamera(true);
      const video = capture.videoTrack;
      const audio = capture.audioTrack;
      if (!video) throw new CaptureError('The camera gave no video.', null);
      video.addEventListener('ended', () => view.showMessage('The camera stopped (unplugged or taken by another application). Pick another one above.'));
      form.setDevices(await Capture.devices(), { cameraId: video.getSettings().deviceId ?? null, microphoneId: audio?.getSettings().deviceId ?? null });
      if (!audio) view.showMessage('No microphone found: the broadcast will have no sound.', 'info');
      else if (captureError) view.showMessage('');
      captureError = '';
      broadcast?.setTracks(video, audio);
      if (hooks.state === 'error' && !broadcast) setState('ready');
      return true;
    } catch (error) {
      view.preview.srcObject = null;
      view.showCamera(false);
      form.noDevices('No access');
      captureError = error instanceof Error ? error.message : String(error);
      view.showMessage(captureError);
      // While live the broadcast goes on without new frames; the message says what to do.
      if (!broadcast) setState('error', captureError);
      return false;
    }
  };
  // One capture change at a time: a second one waits for the first (a quick double change of camera).
  capturing = (capturing ?? Promise.resolve(true)).then(run, run);
  return capturing;
}

function isOnAir(): boolean {
  return hooks.state === 'connecting' || hooks.state === 'live' || hooks.state === 'reconnecting';
}

async function goLive(): Promise<void> {
  if (isOnAir()) return;
  endRequested = false;
  setState('connecting');
  view.showMessage('');
  // Capture may have failed (permission refused): pressing Go live asks again.
  if (!(await (capturing ?? startCapture())) && !(await startCapture())) return setState('error', captureError);
  if (endRequested) return setState('ready'); // ended before anything was opened
  const video = capture.videoTrack;
  const values = form.values();
  const codec = values.codec ?? (await codecs)[0];
  if (!video || !codec) return setState('error', 'No video codec can be encoded in this browser.');
  form.remember();
  resetStats(hooks.stats);
  const title = values.title || `${values.name || 'Someone'} is live`;
  const broadcaster = values.name || 'Anonymous';
  view.showSummary(title, broadcaster);
  try {
    broadcast = await Broadcast.start({
      title,
      broadcaster,
      codec,
      preset: values.preset,
      video,
      audio: capture.audioTrack,
      stats: hooks.stats,
    });
  } catch (error) {
    setState('error', `Could not go live: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  const session = broadcast;
  hooks.channelId = session.channelId;
  view.showChannel(session.channelId);
  session.events.on('state', (state, detail) => onBroadcastState(session, state, detail));
  session.events.on('chat', (line) => chat.add(line));
  session.events.on('video', (config) => view.showVideo(config, codec.label));
  onBroadcastState(session, session.state, '');
  if (endRequested) await end();
}

function onBroadcastState(session: Broadcast, state: BroadcastState, detail: string): void {
  if (session !== broadcast) return;
  if (state === 'ended' || state === 'error') broadcast = null;
  if (state === 'ended' || state === 'error') view.showChannel(null);
  setState(state, detail);
}

async function end(): Promise<void> {
  const session = broadcast;
  if (!session) {
    // Still opening the channel: end it as soon as it exists.
    if (hooks.state === 'connecting') endRequested = true;
    return;
  }
  view.end.disabled = true;
  await session.end();
}

function main(): void {
  setState('ready');
  const unsupported = broadcastUnsupported();
  if (unsupported) {
    setState('error', unsupported);
    view.showCamera(false);
    view.goLive.disabled = true;
    for (const select of [form.camera, form.microphone, form.codec]) {
      select.replaceChildren(new Option('Not available here', ''));
      select.disabled = true;
    }
    return;
  }
  codecs = supportedVideoCodecs().then((list) => {
    form.setCodecs(list);
    if (list.length === 0) view.showMessage('This browser cannot encode any of VP8, H.264, VP9 or AV1.');
    else if (form.missingCodec) view.showMessage(`This browser cannot encode ${form.missingCodec}; using ${form.codec.selectedOptions[0]?.text ?? form.codec.value}.`, 'info');
    return list;
  });
  view.goLive.addEventListener('click', () => void goLive());
  view.end.addEventListener('click', () => void end());
  // Another device or preset: capture again; a live broadcast switches to the new tracks.
  for (const select of [form.camera, form.microphone, form.preset]) select.addEventListener('change', () => void startCapture());
  navigator.mediaDevices.addEventListener('devicechange', () => {
    void Capture.devices().then((devices) => form.setDevices(devices, { cameraId: form.camera.value || null, microphoneId: form.microphone.value || null }));
  });
  // Closing the tab ends the broadcast and stops the encoders and the camera at once.
  window.addEventListener('pagehide', () => {
    broadcast?.abandon();
    capture.stop();
  });
  setInterval(() => view.showStats(hooks.stats), STATS_REFRESH_MS);
  void Promise.all([startCapture(), codecs]).then(([ok]) => {
    if (ok && autostart) {
      autostart = false;
      view.goLive.click();
    }
  });
}

main();
