/**
 * A V8 CPU profile of the unit over the measurement window only. `node --cpu-prof` would need a node
 * flag on a process the shared test helper starts (and NODE_OPTIONS refuses it) and would profile
 * start-up and the connect storm too; instead the unit's inspector is opened with SIGUSR1 (it listens
 * on loopback, 127.0.0.1:9229, and says where on stderr), and the profile is taken over the Chrome
 * DevTools protocol. Writes a .cpuprofile (opens in Chrome DevTools) and returns the top self-time
 * functions. Sampling costs the unit a few per cent of CPU: profiled runs say so.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { waitFor } from '../../support/processes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  fn: string;
  /** of all samples */
  share: number;
  /** of the samples that were not "(idle)". Node marks the whole poll phase idle, and uWS does its
   * native socket work there, so "(idle)" also holds uWS's C++ and the kernel's send path. */
  jsShare: number;
}

export interface UnitProfiler {
  stop(file: string): Promise<SelfTime[]>;
}

export async function startUnitProfiler(pid: number, stderr: () => string, dir: string): Promise<UnitProfiler> {
  process.kill(pid, 'SIGUSR1');
  const url = await waitFor('the unit inspector', () => /Debugger listening on (ws:\/\/\S+)/.exec(stderr())?.[1], 5000, 50);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), 20_000);
      pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 500 });
  await call('Profiler.start');
  return {
    stop: async (file) => {
      try {
        const { profile } = (await call('Profiler.stop')) as { profile: Profile };
        writeFileSync(join(dir, file), JSON.stringify(profile));
        return topSelfTime(profile, 15);
      } finally {
        ws.close();
      }
    },
  };
}

/** Self time per function (name, file, line), as a share of all samples. */
function topSelfTime(profile: Profile, n: number): SelfTime[] {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    const file = frame.url ? frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/') : '';
    const key = `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
    totals.set(key, (totals.get(key) ?? 0) + 1);
  }
  const all = profile.samples.length || 1;
  const busy = all - (totals.get('(idle)') ?? 0) || 1;
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, hits]) => ({ fn, share: Number((hits / all).toFixed(4)), jsShare: fn === '(idle)' ? 0 : Number((hits / busy).toFixed(3)) }));
}
