/**
 * The fanout bench's video fixture: frame sizes (and keyframe flags) of a real VP8 encode, recorded
 * once by record-frame-sizes.ts and committed as JSON under test/bench/fanout/fixtures/. JSON is not
 * compiled to dist/, so the file is found from the package root (the folder holding package.json).
 * Without the file the bench falls back to sizes modelled on such a stream and says so (`source`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface VideoFixture {
  description: string;
  /** `recorded:…` or `modelled:…`; copied into every result line */
  source: string;
  recordedAt?: string;
  userAgent?: string;
  encoderConfig?: Record<string, unknown>;
  keyframeEveryFrames: number;
  fps: number;
  width?: number;
  height?: number;
  /** the encode's own bitrate, before the bench scales it to a scenario's */
  measuredMbps: number;
  /** [bytes, 1 = keyframe], one per frame, in order */
  frames: [number, 0 | 1][];
}

export const DEFAULT_FIXTURE = 'vp8-2mbps-30fps.json';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('fanout bench: package.json not found above the bench');
}

export function fixturePath(name: string): string {
  return join(packageRoot(), 'test', 'bench', 'fanout', 'fixtures', name);
}

/**
 * The recorded fixture, or (missing file) a model of the same stream: a ~60 KB keyframe every 2 s and
 * deltas around 7.4 KB, which is 2 Mbit/s at 30 fps; deterministic (no seed needed, a fixed wobble).
 */
export function loadVideoFixture(name = DEFAULT_FIXTURE): VideoFixture {
  const path = fixturePath(name);
  if (existsSync(path)) {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as VideoFixture;
    if (!Array.isArray(parsed.frames) || parsed.frames.length < parsed.fps) throw new Error(`${path}: no frames`);
    return parsed;
  }
  const frames: [number, 0 | 1][] = [];
  for (let i = 0; i < 600; i++) {
    const key = i % 60 === 0;
    const wobble = 1 + 0.25 * Math.sin(i * 0.7) * Math.cos(i * 0.13);
    frames.push([Math.round(key ? 60_000 * wobble : 7_400 * wobble), key ? 1 : 0]);
  }
  const bytes = frames.reduce((s, [n]) => s + n, 0);
  return {
    description: 'modelled on a 2 Mbit/s 30 fps VP8 stream (no recorded fixture found)',
    source: 'modelled:vp8-2mbps-30fps',
    keyframeEveryFrames: 60,
    fps: 30,
    measuredMbps: (bytes * 8) / 20 / 1e6,
    frames,
  };
}
