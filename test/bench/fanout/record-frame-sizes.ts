/**
 * Re-records the fanout bench's video fixture: the frame sizes of a real VP8 encode at 2 Mbit/s,
 * 30 fps, a keyframe every 2 s, made by Chromium's WebCodecs VideoEncoder (libvpx, software) in
 * headless Debian Chromium driven by playwright-core. The bench replays the sizes, not the bytes: the
 * unit never looks inside a payload, so only sizes and keyframe flags matter to it.
 *
 *   npm run build && node dist/test/bench/fanout/record-frame-sizes.js [--source canvas|camera] [--seconds 20]
 *
 * Input, by `--source`:
 * - canvas (default): a 1280×720 OffscreenCanvas with a panning textured scene, moving shapes and a
 *   patch of low-amplitude per-frame grain (stands in for sensor noise), so the encoder has real work at 2 Mbit/s;
 * - camera: Chromium's fake capture device (--use-fake-device-for-media-stream), 640×480, read with
 *   MediaStreamTrackProcessor. Its test pattern is simple, so libvpx undershoots the target bitrate.
 * Frames are fed with timestamps 1/30 s apart (rate control works on timestamps, not wall time) and a
 * keyframe is requested on every 60th. Writes fixtures/vp8-2mbps-30fps.json (or `--out`).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { fixturePath, type VideoFixture } from './fixture.js';

const log = (message: string): void => void process.stderr.write(`[record-frame-sizes] ${message}\n`);

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface EncodeRequest {
  source: 'canvas' | 'camera';
  frames: number;
  fps: number;
  bitrate: number;
  keyframeEvery: number;
}

interface EncodeResult {
  width: number;
  height: number;
  chunks: { size: number; key: boolean; timestampUs: number }[];
  encoderConfig: Record<string, unknown>;
  userAgent: string;
}

/** Runs in the page (serialised by playwright): encodes `frames` frames and returns chunk sizes. */
async function encodeInPage(req: EncodeRequest): Promise<EncodeResult> {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const g = globalThis as any;
  let width = 1280;
  let height = 720;
  let nextFrame: (i: number) => Promise<any>;
  let cleanup = (): void => {};
  if (req.source === 'camera') {
    const stream = await g.navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: req.fps } });
    const track = stream.getVideoTracks()[0];
    const settings = track.getSettings();
    width = settings.width ?? 640;
    height = settings.height ?? 480;
    const reader = new g.MediaStreamTrackProcessor({ track }).readable.getReader();
    nextFrame = async (i) => {
      const { value } = await reader.read();
      // Re-stamp: the fake device's clock is wall time; rate control must see 30 fps exactly.
      const frame = new g.VideoFrame(value, { timestamp: Math.round((i * 1e6) / req.fps) });
      value.close();
      return frame;
    };
    cleanup = () => track.stop();
  } else {
    const canvas = new g.OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    // A textured backdrop twice the frame's size, panned slowly: like a camera moving over a scene.
    const backdrop = new g.OffscreenCanvas(width * 2, height * 2);
    const b = backdrop.getContext('2d');
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 1500; i++) {
      b.fillStyle = `hsl(${Math.floor(rand() * 360)},${40 + rand() * 50}%,${20 + rand() * 60}%)`;
      const r = 4 + rand() * 60;
      b.beginPath();
      b.arc(rand() * width * 2, rand() * height * 2, r, 0, Math.PI * 2);
      b.fill();
    }
    const noise = ctx.createImageData(160, 90);
    nextFrame = async (i) => {
      const t = i / req.fps;
      ctx.drawImage(backdrop, -((t * 40) % width), -((t * 25) % height));
      for (let k = 0; k < 6; k++) {
        ctx.fillStyle = `hsl(${(k * 60 + i * 3) % 360},80%,55%)`;
        ctx.fillRect(width / 2 + Math.sin(t * (1 + k * 0.3)) * 500 - 40, height / 2 + Math.cos(t * (0.7 + k * 0.2)) * 280 - 40, 80, 80);
      }
      for (let p = 0; p < noise.data.length; p += 4) {
        const v = 110 + Math.floor(rand() * 40); // low-amplitude grain, not pure noise
        noise.data[p] = v;
        noise.data[p + 1] = v;
        noise.data[p + 2] = v;
        noise.data[p + 3] = 255;
      }
      ctx.putImageData(noise, 40, 40);
      ctx.fillStyle = '#fff';
      ctx.font = '48px sans-serif';
      ctx.fillText(`frame ${i}`, 60, height - 60);
      return new g.VideoFrame(canvas, { timestamp: Math.round((i * 1e6) / req.fps) });
    };
  }
  const chunks: EncodeResult['chunks'] = [];
  let failure: unknown = null;
  const encoder = new g.VideoEncoder({
    output: (chunk: any) => chunks.push({ size: chunk.byteLength, key: chunk.type === 'key', timestampUs: chunk.timestamp }),
    error: (e: unknown) => {
      failure = e;
    },
  });
  const encoderConfig = { codec: 'vp8', width, height, bitrate: req.bitrate, framerate: req.fps, bitrateMode: 'constant', latencyMode: 'realtime' };
  const support = await g.VideoEncoder.isConfigSupported(encoderConfig);
  if (!support.supported) throw new Error(`VP8 config not supported: ${JSON.stringify(encoderConfig)}`);
  encoder.configure(encoderConfig);
  for (let i = 0; i < req.frames && !failure; i++) {
    const frame = await nextFrame(i);
    encoder.encode(frame, { keyFrame: i % req.keyframeEvery === 0 });
    frame.close();
    // Bounded queue: wait for the encoder instead of piling up frames.
    while (encoder.encodeQueueSize > 2 && !failure) await new Promise((r) => setTimeout(r, 1));
  }
  await encoder.flush();
  encoder.close();
  cleanup();
  if (failure) throw new Error(`encoder error: ${String(failure)}`);
  return { width, height, chunks, encoderConfig, userAgent: g.navigator.userAgent };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      source: { type: 'string', default: 'canvas' },
      seconds: { type: 'string', default: '20' },
      out: { type: 'string' },
      timeout: { type: 'string', default: '180000' },
    },
    strict: true,
  });
  const source = values.source === 'camera' ? 'camera' : 'canvas';
  const fps = 30;
  const request: EncodeRequest = { source, frames: Math.round(Number(values.seconds) * fps), fps, bitrate: 2_000_000, keyframeEvery: 2 * fps };
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
  try {
    const page = await browser.newPage();
    // A secure context (WebCodecs and getUserMedia need one): localhost counts, nothing listens there.
    await page.route('http://localhost/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>rec</title>' }));
    await page.goto('http://localhost/record');
    page.setDefaultTimeout(Number(values.timeout));
    const started = Date.now();
    const result = await page.evaluate(encodeInPage, request);
    log(`${result.chunks.length} chunks in ${Date.now() - started} ms from ${source} ${result.width}x${result.height}`);
    const totalBytes = result.chunks.reduce((s, c) => s + c.size, 0);
    const seconds = request.frames / fps;
    const fixture: VideoFixture = {
      description: `VP8 frame sizes from Chromium WebCodecs VideoEncoder (libvpx), ${source} input, re-record with test/bench/fanout/record-frame-sizes.ts`,
      source: `recorded:chromium-webcodecs-vp8:${source}`,
      recordedAt: new Date().toISOString(),
      userAgent: result.userAgent,
      encoderConfig: result.encoderConfig,
      keyframeEveryFrames: request.keyframeEvery,
      fps,
      width: result.width,
      height: result.height,
      measuredMbps: Number(((totalBytes * 8) / seconds / 1e6).toFixed(3)),
      frames: result.chunks.map((c) => [c.size, c.key ? 1 : 0] as [number, 0 | 1]),
    };
    const out = values.out ?? fixturePath('vp8-2mbps-30fps.json');
    writeFileSync(out, `${JSON.stringify(fixture)}\n`);
    const keys = result.chunks.filter((c) => c.key);
    log(`wrote ${out}: ${fixture.measuredMbps} Mbit/s, ${keys.length} keyframes (mean ${Math.round(keys.reduce((s, c) => s + c.size, 0) / Math.max(1, keys.length))} B)`);
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`record-frame-sizes: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
