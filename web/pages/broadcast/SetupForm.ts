/**
 * The broadcast page's form: name, title, camera, microphone, quality preset, codec. Prefilled from
 * the query (`?name=…&title=…&preset=360p&codec=vp8`, used by tests and the benchmark), else from
 * what this browser used last time (localStorage), else the defaults.
 */
import { byId } from '../shared/dom.js';
import type { DeviceList } from './Capture.js';
import { codecByName, DEFAULT_CODEC, DEFAULT_PRESET, PRESETS, presetById, type Preset, type VideoCodecChoice } from './presets.js';

const STORAGE_KEY = 'onair.broadcast';

export interface SetupValues {
  name: string;
  title: string;
  cameraId: string | null;
  microphoneId: string | null;
  preset: Preset;
  codec: VideoCodecChoice | undefined;
}

interface Remembered {
  name?: string;
  cameraId?: string;
  microphoneId?: string;
  preset?: string;
  codec?: string;
}

export class SetupForm {
  readonly name = byId('name', HTMLInputElement);
  readonly title = byId('title', HTMLInputElement);
  readonly camera = byId('camera', HTMLSelectElement);
  readonly microphone = byId('microphone', HTMLSelectElement);
  readonly preset = byId('preset', HTMLSelectElement);
  readonly codec = byId('codec', HTMLSelectElement);
  readonly #wanted: Remembered;

  constructor(query: URLSearchParams) {
    const remembered = readRemembered();
    this.#wanted = {
      ...remembered,
      ...(query.get('preset') ? { preset: query.get('preset')! } : {}),
      ...(query.get('codec') ? { codec: query.get('codec')! } : {}),
    };
    this.name.value = query.get('name') ?? remembered.name ?? '';
    this.title.value = query.get('title') ?? '';
    this.preset.replaceChildren(...PRESETS.map((p) => new Option(p.label, p.id)));
    this.preset.value = presetById(this.#wanted.preset ?? DEFAULT_PRESET).id;
  }

  /** Lists the codecs this browser encodes; keeps the asked-for one when it is among them. */
  setCodecs(codecs: VideoCodecChoice[]): void {
    this.codec.replaceChildren(...codecs.map((c) => new Option(c.label, c.name)));
    const wanted = this.#wanted.codec ?? DEFAULT_CODEC;
    this.codec.value = codecs.some((c) => c.name === wanted) ? wanted : (codecs.find((c) => c.name === DEFAULT_CODEC) ?? codecs[0])?.name ?? '';
  }

  /** Whether the codec asked for (query or last time) is not available here. */
  get missingCodec(): string | null {
    const wanted = this.#wanted.codec;
    return wanted && this.codec.value !== wanted ? wanted : null;
  }

  /** Fills the device lists, selecting the ones in use (or wanted). */
  setDevices(devices: DeviceList, inUse: { cameraId: string | null; microphoneId: string | null }): void {
    fill(this.camera, devices.cameras, inUse.cameraId ?? this.#wanted.cameraId, 'Camera');
    fill(this.microphone, devices.microphones, inUse.microphoneId ?? this.#wanted.microphoneId, 'Microphone');
  }

  /** No device list to show (no permission yet, or refused): one option saying why. */
  noDevices(text: string): void {
    for (const select of [this.camera, this.microphone]) {
      if (select.options.length > 1 || select.value !== '') continue; // a real list stays
      select.replaceChildren(new Option(text, ''));
    }
  }

  values(): SetupValues {
    return {
      name: this.name.value.trim(),
      title: this.title.value.trim(),
      cameraId: this.camera.value || this.#wanted.cameraId || null,
      microphoneId: this.microphone.value || this.#wanted.microphoneId || null,
      preset: presetById(this.preset.value),
      codec: codecByName(this.codec.value),
    };
  }

  /** While live the channel's codec and picture are fixed; devices may still change. */
  lock(live: boolean): void {
    for (const element of [this.name, this.title, this.preset, this.codec]) element.disabled = live;
  }

  /** Keeps the choices for next time (not the title: that is per broadcast). */
  remember(): void {
    const v = this.values();
    const remembered: Remembered = { name: v.name, preset: v.preset.id, codec: this.codec.value };
    if (this.camera.value) remembered.cameraId = this.camera.value;
    if (this.microphone.value) remembered.microphoneId = this.microphone.value;
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(remembered));
    } catch {
      // storage disabled: nothing to remember with
    }
  }
}

function fill(select: HTMLSelectElement, devices: MediaDeviceInfo[], selected: string | null | undefined, noun: string): void {
  const options = devices.map((d, i) => new Option(d.label || `${noun} ${i + 1}`, d.deviceId));
  if (options.length === 0) options.push(new Option(`No ${noun.toLowerCase()} found`, ''));
  select.replaceChildren(...options);
  if (selected && devices.some((d) => d.deviceId === selected)) select.value = selected;
  select.disabled = devices.length === 0;
}

function readRemembered(): Remembered {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: Remembered = {};
    for (const key of ['name', 'cameraId', 'microphoneId', 'preset', 'codec'] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string' && value.length <= 200) out[key] = value;
    }
    return out;
  } catch {
    return {};
  }
}
