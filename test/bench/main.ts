/** `onair bench <name>`: run a benchmark; one JSON line per run on stdout, logs on stderr. */
const benches: Record<string, { summary: string; run: (args: string[]) => Promise<void> }> = {
  control: { summary: 'CSM placement at scale with simulated units (no sockets)', run: async (a) => (await import('./control.js')).runControlBench(a) },
  ring: { summary: "a unit's ring buffer: one 2 Mbit/s stream to 1,000 readers", run: async (a) => (await import('./ring.js')).runRingBench(a) },
  browser: { summary: 'glass-to-glass latency and time to first picture in real Chromium, UDP and TCP, against an in-page codec loopback', run: async (a) => (await import('./browser/browser.js')).runBrowserBench(a) },
  failover: { summary: 'the active CSM or a unit killed in the keepalived lab: VIP move, first join, viewer gap, unit re-home (advert 1 s and 0.2 s)', run: async (a) => (await import('./failover/failover.js')).runFailoverBench(a) },
  fanout: { summary: 'a real unit fanning a 2 Mbit/s stream out to TCP (vs a naive ws server) and UDP viewers, and across three relayed units', run: async (a) => (await import('./fanout/fanout.js')).runFanoutBench(a) },
};

export async function runBenchCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  const bench = name ? benches[name] : undefined;
  if (!bench) {
    const list = Object.entries(benches).map(([n, b]) => `  ${n.padEnd(9)} ${b.summary}`).join('\n');
    process.stdout.write(`usage: onair bench <name> [options]\n\nbenchmarks:\n${list}\n`);
    if (name && name !== '--help' && name !== '-h') throw new Error(`unknown benchmark "${name}"`);
    return;
  }
  await bench.run(rest);
}
