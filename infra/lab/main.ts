/** `onair lab up | status | down`: the network-namespace lab from the command line (infra/README.md). */
import { parseArgs } from 'node:util';
import { Lab } from './Lab.js';
import { labDefaults } from './topology.js';

const usage = `usage: onair lab <up | status | down> [options]

  up       build a lab: hosts in network namespaces on one bridge (198.18.0.0/24), Redis, two CSMs
           with keepalived and a VIP, units, a web server; prints its status as JSON and exits,
           leaving it running
  status   print a lab's status as JSON: hosts, addresses, who holds the VIP, processes, CSM health
  down     stop exactly the lab's processes and delete exactly its namespaces (every lab without --id)

  --id ID              the lab (up: default random; status: default the only one)
  --units N            unit hosts (up; default ${labDefaults.units})
  --no-web             no web server (up)
  --advert-int S       keepalived advert interval in seconds, sub-second allowed (up; default ${labDefaults.advertIntSeconds})
  --network A.B.C      the lab's /24 inside 198.18.0.0/15 (up; default ${labDefaults.network})
  --state-root DIR     where labs keep their state (default ${labDefaults.stateRoot})
  -h, --help           this text

Needs root, iproute2, keepalived and redis-server. Nothing is routed to or from the root namespace:
reach the hosts with \`ip netns exec onair-<id>-client …\`.`;

export async function runLabCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      units: { type: 'string' },
      'no-web': { type: 'boolean' },
      'advert-int': { type: 'string' },
      network: { type: 'string' },
      'state-root': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const [sub] = positionals;
  if (values.help || !sub) {
    process.stdout.write(`${usage}\n`);
    if (!sub && !values.help) process.exitCode = 1;
    return;
  }
  const stateRoot = values['state-root'] ?? labDefaults.stateRoot;
  const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  switch (sub) {
    case 'up': {
      const lab = await Lab.up({
        id: values.id,
        units: values.units === undefined ? undefined : Number(values.units),
        web: values['no-web'] ? false : undefined,
        advertIntSeconds: values['advert-int'] === undefined ? undefined : Number(values['advert-int']),
        network: values.network,
        stateRoot,
        teardownOnExit: false,
      });
      print(await lab.status());
      return;
    }
    case 'status':
      print(await Lab.open(values.id, stateRoot).status());
      return;
    case 'down': {
      // idempotent: a lab that is already gone is not an error
      const ids = Lab.list(stateRoot).filter((id) => values.id === undefined || id === values.id);
      if (values.id && ids.length === 0) process.stderr.write(`onair lab: no lab ${values.id} under ${stateRoot} (already down)\n`);
      const reports = [];
      for (const id of ids) reports.push(await Lab.open(id, stateRoot).down());
      print(reports);
      if (reports.some((r) => r.leftovers.length > 0)) process.exitCode = 1;
      return;
    }
    default:
      throw new Error(`unknown subcommand "${sub}"\n\n${usage}`);
  }
}
