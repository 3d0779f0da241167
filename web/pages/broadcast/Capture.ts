/**
 * The camera and microphone: one getUserMedia stream at a time, for the devices and preset the
 * broadcaster picked. Restarting (another device, another preset) stops the old tracks first,
 * because many cameras cannot be opened twice at once.
 */
import { FRAME_RATE, type Preset } from './presets.js';

export interface CaptureRequest {
  /** a deviceId from devices(), or null for the browser's default */
  cameraId: string | null;
  microphoneId: string | null;
  preset: Preset;
}

export interface DeviceList {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}

export class Capture {
  #stream: MediaStream | null = null;

  get stream(): MediaStream | null {
    return this.#stream;
  }
  get videoTrack(): MediaStreamTrack | null {
    return this.#stream?.getVideoTracks()[0] ?? null;
  }
  get audioTrack(): MediaStreamTrack | null {
    return this.#stream?.getAudioTracks()[0] ?? null;
  }

  /** Opens the devices; throws a CaptureError with a message for people. */
  async start(request: CaptureRequest): Promise<MediaStream> {
    this.stop();
    const video: MediaTrackConstraints = {
      // "ideal", not "exact": a camera that cannot do the preset's size gives its nearest one, and
      // the encoder is configured with what the frames really measure.
      width: { ideal: request.preset.width },
      height: { ideal: request.preset.height },
      frameRate: { ideal: FRAME_RATE },
    };
    const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (request.cameraId) video.deviceId = { exact: request.cameraId };
    if (request.microphoneId) audio.deviceId = { exact: request.microphoneId };
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({ video, audio });
    } catch (error) {
      // A remembered device that went away: fall back to the defaults once rather than fail.
      if (isError(error, 'OverconstrainedError', 'NotFoundError') && (request.cameraId || request.microphoneId)) {
        return this.start({ ...request, cameraId: null, microphoneId: null });
      }
      // No microphone at all: a picture without sound is still a broadcast.
      if (isError(error, 'NotFoundError')) this.#stream = await navigator.mediaDevices.getUserMedia({ video }).catch(() => null);
      if (!this.#stream) throw new CaptureError(describeMediaError(error), error);
    }
    return this.#stream;
  }

  /** Cameras and microphones; their labels are known only once permission was given (after start). */
  static async devices(): Promise<DeviceList> {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      cameras: all.filter((d) => d.kind === 'videoinput' && d.deviceId !== ''),
      microphones: all.filter((d) => d.kind === 'audioinput' && d.deviceId !== ''),
    };
  }

  /** Stops every track (the camera light goes off). Safe to call twice. */
  stop(): void {
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }
}

export class CaptureError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'CaptureError';
  }
}

function isError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

function describeMediaError(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera and microphone access was refused. Allow it for this site (the camera icon in the address bar), then press Go live.';
    case 'NotFoundError':
      return 'No camera or microphone was found. Connect one, then press Go live.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is busy (another application may be using it). Close it, then press Go live.';
    case 'OverconstrainedError':
      return 'The camera cannot deliver the chosen quality. Pick another preset.';
    default:
      return `The camera or microphone could not be opened: ${error instanceof Error ? error.message : String(error)}`;
  }
}
