/** The `onair` command: one subcommand per process kind. */
const commands: Record<string, { summary: string; run: (args: string[]) => Promise<void> }> = {
  cluster: { summary: 'run a whole local cluster (CSM, streaming units, web server) as separate processes', run: async (a) => (await import('./cluster.js')).runClusterCommand(a) },
  csm: { summary: 'run a cluster server manager', run: async (a) => (await import('../csm/main.js')).runCsmCommand(a) },
  'csm-ctl': { summary: "promote, demote or query a local CSM's role (keepalived's notify scripts)", run: async (a) => (await import('../csm/ctl.js')).runCsmCtlCommand(a) },
  unit: { summary: 'run a streaming unit', run: async (a) => (await import('../streaming-unit/main.js')).runUnitCommand(a) },
  web: { summary: 'run the web server (pages and the browser API)', run: async (a) => (await import('../web/main.js')).runWebCommand(a) },
  admin: { summary: 'run the admin console server (operator sign-in, live feed, actions)', run: async (a) => (await import('../admin-console/main.js')).runAdminCommand(a) },
  bench: { summary: 'run a benchmark and print JSON (control, ring, fanout)', run: async (a) => (await import('../test/bench/main.js')).runBenchCommand(a) },
  keepalived: { summary: 'render keepalived.conf for a CSM host; install its scripts', run: async (a) => (await import('../infra/keepalived/main.js')).runKeepalivedCommand(a) },
  lab: { summary: 'network-namespace test lab: up | status | down', run: async (a) => (await import('../infra/lab/main.js')).runLabCommand(a) },
};

const usage = `usage: onair <command> [options]

commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}

Run \`onair <command> --help\` for a command's options.`;

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(`${usage}\n`);
  process.exit(name ? 0 : 1);
}
const command = commands[name];
if (!command) {
  process.stderr.write(`onair: unknown command "${name}"\n\n${usage}\n`);
  process.exit(1);
}
try {
  await command.run(args);
} catch (error) {
  const coded = error as { code?: string; message?: string };
  process.stderr.write(`onair ${name}: ${coded.code ? `${coded.code}: ` : ''}${coded.message ?? String(error)}\n`);
  process.exit(1);
}
