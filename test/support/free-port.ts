import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** A loopback TCP port nobody listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read the free port');
  return address.port;
}

/** Whether a loopback TCP port can be listened on right now. */
async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}

/**
 * A base port for a command that takes fixed ports at base + each offset (`onair cluster`): below the
 * kernel's ephemeral range (where the many connections of other tests take their local ports) and
 * each of them free right now.
 */
export async function freePortBlock(offsets: number[], lowest = 10_000, ephemeralFrom = ephemeralRangeStart()): Promise<number> {
  const span = Math.max(...offsets);
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = lowest + Math.floor(Math.random() * (ephemeralFrom - span - lowest));
    let free = true;
    for (const offset of offsets) if (!(await canListen(base + offset))) free = false;
    if (free) return base;
  }
  throw new Error(`no block of free ports at ${offsets.join(', ')} below ${ephemeralFrom}`);
}

/** Where the kernel starts handing out local ports for outgoing connections (Linux; 32768 when unreadable). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 11_200 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether something accepts connections on this loopback port now. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
