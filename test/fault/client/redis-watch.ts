/**
 * Watches the fenced writes in Redis from the client host, to tell which epochs' writes the store
 * accepted and when (protocol/store/redis-keys.ts, csm/store/RedisClusterStateMirror.ts,
 * csm/store/FencedRedisChannelStore.ts):
 *
 * - MONITOR shows every command with the client's address and, right after a script's EVALSHA (or
 *   EVAL), the commands the script ran (source "lua"). Every fenced script takes the epoch key first
 *   and the writer's epoch as its first argument; a script that wrote anything (SET, HSET, HDEL, DEL)
 *   was accepted, one that only read was refused. The claim script (one key) writes the new epoch.
 *   A `violation` is an accepted write whose epoch is below an epoch the store had already accepted
 *   or claimed: two epochs' writes accepted interleaved.
 * - A write to one of the fenced keys outside a script (`unfenced`) would bypass the fence.
 * - GET <prefix>epoch every `pollMs`: an `epoch` line when it changes (`backwards` when it fell).
 * - At `events()`: the event log entries appended since the watch started, with the epoch and CSM
 *   each one carries in its data.
 */
import { Redis } from 'ioredis';
import { createValuePackr, redisKeys, type RedisKeys } from '../../../protocol/store/redis-keys.js';
import { Bounded, emit, note } from './output.js';

type Kind = 'claim' | 'mirror' | 'meta' | 'other';
const WRITES = new Set(['set', 'hset', 'hdel', 'del', 'hmset', 'setex', 'incr']);

export interface WriteGroup {
  source: string;
  epoch: number;
  kind: Kind;
  accepted: number;
  refused: number;
  firstAt: number;
  lastAcceptedAt: number | null;
  lastRefusedAt: number | null;
}

interface Pending {
  at: number;
  source: string;
  kind: Kind;
  epoch: number;
  wrote: boolean;
  claimed: number | null;
}

export class RedisWatch {
  readonly #keys: RedisKeys;
  readonly #monitorClient: Redis;
  readonly #poller: Redis;
  readonly #groups = new Map<string, WriteGroup>();
  readonly claims = new Bounded<{ at: number; source: string; epoch: number }>(10_000);
  readonly violations = new Bounded<{ at: number; source: string; kind: Kind; epoch: number; newestBefore: number }>(10_000);
  readonly epochs = new Bounded<{ at: number; value: number | null; backwards: boolean }>(10_000);
  /** writes to the fenced keys outside a fenced script (none expected: they would bypass the fence) */
  readonly unfenced = new Bounded<{ at: number; source: string; command: string; key: string }>(1000);
  #pending: Pending | null = null;
  #newest = 0;
  #lastEpoch: number | null | undefined = undefined;
  #commands = 0;
  readonly #startedAt = Date.now();
  readonly #timer: NodeJS.Timeout;

  private constructor(
    readonly url: string,
    prefix: string,
    monitorClient: Redis,
    readonly pollMs: number,
  ) {
    this.#keys = redisKeys(prefix);
    this.#monitorClient = monitorClient;
    this.#poller = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1000, enableOfflineQueue: false, retryStrategy: () => 200 });
    this.#poller.on('error', () => undefined);
    this.#timer = setInterval(() => void this.#poll(), pollMs);
  }

  static async start(url: string, prefix: string, pollMs: number): Promise<RedisWatch> {
    const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => 200 });
    client.on('error', (error: Error) => note(`redis watch: ${error.message}`));
    const monitor = await client.monitor();
    monitor.on('error', (error: Error) => note(`redis monitor: ${error.message}`));
    const watch = new RedisWatch(url, prefix, monitor, pollMs);
    monitor.on('monitor', (time: string, args: string[], source: string) => watch.#command(Number(time) * 1000, args, source));
    // ioredis's monitor connection resolves the monitor() promise once MONITOR is acknowledged
    return watch;
  }

  #command(at: number, args: string[], source: string): void {
    this.#commands++;
    const name = (args[0] ?? '').toLowerCase();
    if (source === 'lua') {
      const pending = this.#pending;
      if (!pending) return;
      if (WRITES.has(name)) {
        pending.wrote = true;
        if (pending.kind === 'claim' && name === 'set' && args[1] === this.#keys.epoch) pending.claimed = Number(args[2]);
      }
      return;
    }
    this.#settle();
    const fencedKeys = [this.#keys.epoch, this.#keys.units, this.#keys.channels, this.#keys.nextChannelId, this.#keys.channelMeta];
    if (WRITES.has(name) && fencedKeys.includes(args[1] ?? '')) {
      const write = { at, source: source.replace(/:\d+$/, ''), command: name, key: args[1]! };
      this.unfenced.push(write);
      emit({ t: 'unfenced', ...write });
    }
    // EVALSHA <sha> <numkeys> <keys…> <argv…>: every fenced script takes the epoch key first
    if ((name === 'evalsha' || name === 'eval') && args[3] === this.#keys.epoch) {
      const numKeys = Number(args[2]);
      const keys = args.slice(3, 3 + numKeys);
      const argv = args.slice(3 + numKeys);
      const kind: Kind = numKeys === 1 ? 'claim' : keys[1] === this.#keys.units ? 'mirror' : keys[1] === this.#keys.channelMeta ? 'meta' : 'other';
      this.#pending = { at, source: source.replace(/:\d+$/, ''), kind, epoch: Number(argv[0]), wrote: false, claimed: null };
    }
  }

  /** the script before this command has finished: book it */
  #settle(): void {
    const p = this.#pending;
    this.#pending = null;
    if (!p) return;
    if (p.kind === 'claim') {
      if (p.claimed !== null) {
        this.claims.push({ at: p.at, source: p.source, epoch: p.claimed });
        emit({ t: 'claim', redisAt: p.at, source: p.source, epoch: p.claimed, minimum: p.epoch });
        if (p.claimed < this.#newest) this.#violation(p, p.claimed);
        this.#newest = Math.max(this.#newest, p.claimed);
      }
      return;
    }
    const id = `${p.source}|${p.epoch}|${p.kind}`;
    let group = this.#groups.get(id);
    if (!group) {
      group = { source: p.source, epoch: p.epoch, kind: p.kind, accepted: 0, refused: 0, firstAt: p.at, lastAcceptedAt: null, lastRefusedAt: null };
      this.#groups.set(id, group);
    }
    if (p.wrote) {
      if (group.accepted === 0) emit({ t: 'write', redisAt: p.at, source: p.source, epoch: p.epoch, kind: p.kind, accepted: true });
      group.accepted++;
      group.lastAcceptedAt = p.at;
      if (p.epoch < this.#newest) this.#violation(p, p.epoch);
      this.#newest = Math.max(this.#newest, p.epoch);
    } else {
      if (group.refused === 0) emit({ t: 'write', redisAt: p.at, source: p.source, epoch: p.epoch, kind: p.kind, accepted: false });
      group.refused++;
      group.lastRefusedAt = p.at;
    }
  }

  #violation(p: Pending, epoch: number): void {
    const v = { at: p.at, source: p.source, kind: p.kind, epoch, newestBefore: this.#newest };
    this.violations.push(v);
    emit({ t: 'violation', ...v });
  }

  async #poll(): Promise<void> {
    let value: number | null;
    try {
      const raw = await this.#poller.get(this.#keys.epoch);
      value = raw === null ? null : Number(raw);
    } catch {
      return; // Redis away: nothing to compare
    }
    if (value === this.#lastEpoch) return;
    const backwards = this.#lastEpoch !== undefined && (this.#lastEpoch ?? 0) > (value ?? 0);
    this.#lastEpoch = value;
    const entry = { at: Date.now(), value, backwards };
    this.epochs.push(entry);
    emit({ t: 'epoch', ...entry });
  }

  get summary(): { commands: number; newestEpoch: number; groups: WriteGroup[]; claims: number; violations: number; epochBackwards: number; unfenced: number } {
    this.#settle();
    return {
      unfenced: this.unfenced.items.length,
      commands: this.#commands,
      newestEpoch: this.#newest,
      groups: [...this.#groups.values()],
      claims: this.claims.items.length,
      violations: this.violations.items.length,
      epochBackwards: this.epochs.items.filter((e) => e.backwards).length,
    };
  }

  /** Event-log entries appended since the watch started (oldest first, at most `limit`). */
  async events(limit = 5000): Promise<{ id: string; at: number; kind: string; actor: string; epoch: number | null; csm: string | null }[]> {
    const packr = createValuePackr();
    const entries = await this.#poller.xrangeBuffer(this.#keys.events, `${this.#startedAt}-0`, '+', 'COUNT', limit);
    return entries.map(([id, fields]) => {
      const map = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
      let data: { epoch?: number; csm?: string } = {};
      try {
        const raw = map.get('data');
        if (raw) data = packr.unpack(raw) as typeof data;
      } catch {
        data = {};
      }
      return { id: id.toString(), at: Number(map.get('at')?.toString() ?? 0), kind: map.get('kind')?.toString() ?? '', actor: map.get('actor')?.toString() ?? '', epoch: data.epoch ?? null, csm: data.csm ?? null };
    });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#monitorClient.disconnect();
    this.#poller.disconnect();
  }
}
