/**
 * A CSM's high-availability role (README "High availability"). One CSM is **active**: it holds the
 * newest epoch, serves the service API and the units' control links, and mirrors every change. The
 * other is a **backup**: it never writes, refuses unit links and changes, and keeps a read-only view
 * by reloading the mirror every `followIntervalMs`.
 *
 * - **promote** (keepalived's notify script, when the VIP comes here): claim a new epoch in the store
 *   (one above any epoch seen, atomically: the old active's writes are refused from then on), load
 *   the newest mirrored state, rebuild the cluster from it and serve. A promotion the store cannot
 *   take (Redis down) is retried every `followIntervalMs` until it goes through or a demote cancels it.
 * - **demote** (the VIP left): stop serving at once, drop unit links, write what is pending, stop
 *   writing, go back to following.
 * - **step down** (fenced): the store refused a write for a stale epoch, a unit refused a command as
 *   stale, or the periodic epoch check (`epochCheckMs`) found a newer epoch. Like a demotion, but
 *   nothing more is written, and /healthz fails for `fencedHoldMs` so keepalived takes the VIP off
 *   this host; then it is a healthy backup again.
 * - **suspended**: an active whose event loop stalled (SIGSTOP, a long pause) cannot know whether it
 *   was replaced meanwhile. It neither serves nor decides anything until an epoch check confirms its
 *   epoch is still the store's (or steps it down).
 *
 * Transitions run one at a time. The host (Csm) owns the cluster, the links and the stores; this class
 * decides when they change hands.
 */
import { EventKind } from '../../protocol/event-kinds.js';
import type { Logger } from '../../protocol/logger.js';
import { TypedEmitter } from '../../protocol/typed-emitter.js';
import type { CsmRole } from '../config.js';
import { CsmError } from '../errors.js';
import type { MirroredState, RoleHost, RoleOptions, RoleStatus } from './role-types.js';

export type { MirroredState, RoleHost, RoleOptions, RoleStatus };

export type RoleEvents = {
  promoted: [epoch: number];
  demoted: [why: string, fenced: boolean];
  /** a suspended active's epoch was confirmed: it serves again */
  confirmed: [];
};

/** a planned demotion waits this long for pending mirror writes before it stops writing */
const DEMOTE_FLUSH_MS = 2000;

export class RoleManager extends TypedEmitter<RoleEvents> {
  #role: CsmRole = 'backup';
  #epoch = 0;
  #confirmed = true;
  #storeEpoch = 0;
  #wantActive = false;
  #fencedAt = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #busy = false;
  /** bumped at every transition, so a reload that started before one does not overwrite its result */
  #generation = 0;
  #lastState: MirroredState | null = null;
  #followedAt: number | null = null;
  #storeError: string | null = null;
  #storeBehindLogged = false;
  #following = false;
  #checking = false;
  /** bumped at every stall: only an epoch check started after the last one may confirm the epoch */
  #stalls = 0;
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(
    readonly host: RoleHost,
    readonly options: RoleOptions,
    readonly logger: Logger,
  ) {
    super();
  }

  get role(): CsmRole {
    return this.#role;
  }

  /** Serving: active with a confirmed epoch. */
  get serving(): boolean {
    return this.#role === 'active' && this.#confirmed;
  }

  get suspended(): boolean {
    return this.#role === 'active' && !this.#confirmed;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get storeEpoch(): number {
    return this.#storeEpoch;
  }

  get fencedRecently(): boolean {
    return this.#fencedAt > 0 && Date.now() - this.#fencedAt < this.options.fencedHoldMs;
  }

  status(changed?: boolean): RoleStatus {
    return {
      csmId: this.host.csmId,
      role: this.serving ? 'active' : 'backup',
      epoch: this.#epoch,
      storeEpoch: this.#storeEpoch,
      promoting: this.#wantActive && this.#role !== 'active',
      suspended: this.suspended,
      fenced: this.fencedRecently,
      followedAt: this.#role === 'backup' ? this.#followedAt : null,
      storeError: this.#storeError,
      ...(changed === undefined ? {} : { changed }),
    };
  }

  /** Take the configured role at start. An active that cannot claim its epoch fails the start. */
  async start(role: CsmRole): Promise<void> {
    if (role === 'active') {
      this.#wantActive = true;
      await this.#serially(() => this.#activate('start'));
    } else {
      await this.#follow();
      if (this.#storeError) this.logger.warn({ err: this.#storeError }, 'backup started without the store; following once it answers');
    }
    this.#every(this.options.followIntervalMs, () => this.#onFollowTimer());
    this.#every(this.options.epochCheckMs, () => void this.#checkEpoch());
  }

  /** The process is closing: no more timers, and a transition in flight changes nothing. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }

  /** Become active (idempotent: a no-op while active). */
  promote(by: string): Promise<RoleStatus> {
    if (this.#role === 'active') return Promise.resolve(this.status(false));
    this.#wantActive = true;
    return this.#serially(async () => {
      if (this.#role === 'active' || !this.#wantActive) return this.status(false);
      return this.status(await this.#activate(by));
    });
  }

  /** Become a backup (idempotent); cancels a promotion that waits for the store. */
  demote(by: string): Promise<RoleStatus> {
    if (this.host.storeKind === 'memory') return Promise.reject(new CsmError('CSM_ERR_NO_SHARED_STORE'));
    this.#wantActive = false;
    return this.#serially(async () => {
      if (this.#role !== 'active') return this.status(false);
      this.#role = 'backup';
      this.#confirmed = true;
      this.host.dropLinks();
      // What is pending goes out before we stop writing: the next active loads a complete state.
      const flushed = await Promise.race([this.host.mirrorWriter.flush().then(() => true), delay(DEMOTE_FLUSH_MS).then(() => false)]);
      if (!flushed) this.logger.warn('demoting without having written every pending change');
      this.host.mirrorWriter.pause();
      this.#afterDemotion(`demoted by ${by}`, false);
      return this.status(true);
    });
  }

  /** A newer epoch exists: stop serving and writing now. Safe to call in any state. */
  stepDown(why: string, newerEpoch?: number): void {
    if (newerEpoch !== undefined && newerEpoch > this.#storeEpoch) this.#storeEpoch = newerEpoch;
    if (this.#role !== 'active') return;
    this.#generation++;
    this.#role = 'backup';
    this.#confirmed = true;
    this.#wantActive = false;
    this.#fencedAt = Date.now();
    this.host.mirrorWriter.fence();
    this.host.dropLinks();
    this.#afterDemotion(why, true);
  }

  /** The event loop stalled for `ms`: an active stops serving until the store confirms its epoch. */
  noteStall(ms: number): void {
    if (this.#role !== 'active' || !this.#confirmed || this.host.storeKind === 'memory') return;
    this.#confirmed = false;
    this.#stalls++;
    this.logger.warn({ stalledMs: ms }, 'the event loop stalled; not serving until the store confirms our epoch');
    void this.#checkEpoch();
  }

  /** Read the store's epoch now (a unit said it has seen a newer one). */
  checkEpochSoon(): void {
    void this.#checkEpoch();
  }

  /** A newer epoch than `epoch` is known to exist: what was written with `epoch` would be stale. */
  superseded(epoch: number): boolean {
    return this.#storeEpoch > epoch;
  }

  async #activate(by: string): Promise<boolean> {
    const minimum = Math.max(this.#storeEpoch, this.#epoch) + 1;
    let epoch: number;
    try {
      epoch = await this.host.mirror.claimEpoch(minimum);
    } catch (error) {
      this.#storeError = (error as Error).message;
      throw new CsmError('CSM_ERR_STORE_UNAVAILABLE', `cannot claim an epoch: ${this.#storeError}`);
    }
    // From here on the store refuses every write of the previous active.
    if (this.#stopped) throw new CsmError('CSM_ERR_CLOSING');
    let state: MirroredState;
    let full = false;
    try {
      state = await this.#load();
    } catch (error) {
      this.#storeError = (error as Error).message;
      if (!this.#lastState) throw new CsmError('CSM_ERR_STORE_UNAVAILABLE', `claimed epoch ${epoch} but cannot load the cluster: ${this.#storeError}`);
      // The view we followed is at most one interval old; the store gets our whole state once it answers.
      this.logger.warn({ err: this.#storeError, epoch }, 'cannot load the cluster after claiming the epoch; serving from the last followed view');
      state = this.#lastState;
      full = true;
    }
    if (this.#stopped) throw new CsmError('CSM_ERR_CLOSING');
    if (state.snapshot.epoch > epoch) {
      // Another CSM claimed after us: it is the active one.
      this.#storeEpoch = state.snapshot.epoch;
      this.#wantActive = false;
      this.logger.warn({ epoch, storeEpoch: state.snapshot.epoch }, 'another CSM claimed a newer epoch during our promotion; staying backup');
      return false;
    }
    this.#storeError = null;
    this.#epoch = epoch;
    this.#storeEpoch = Math.max(this.#storeEpoch, epoch);
    this.host.install(state, epoch);
    this.#role = 'active';
    this.#confirmed = true;
    this.#wantActive = false;
    this.#fencedAt = 0;
    this.host.mirrorWriter.resume(full);
    const { units, channels } = state.snapshot;
    this.logger.info({ epoch, by, units: units.length, channels: channels.length, store: this.host.storeKind }, 'promoted: active');
    this.host.roleEvent({
      at: Date.now(),
      kind: EventKind.CSM_PROMOTED,
      actor: this.host.csmId,
      message: `CSM ${this.host.csmId} active with epoch ${epoch} (${this.host.storeKind} store; ${by}; ${units.length} unit(s), ${channels.length} channel(s) restored)`,
    });
    this.safeEmit('promoted', epoch);
    return true;
  }

  #afterDemotion(why: string, fenced: boolean): void {
    this.#storeBehindLogged = false;
    (fenced ? this.logger.error.bind(this.logger) : this.logger.info.bind(this.logger))({ why, epoch: this.#epoch, storeEpoch: this.#storeEpoch }, 'demoted: backup');
    this.host.roleEvent({ at: Date.now(), kind: EventKind.CSM_DEMOTED, actor: this.host.csmId, message: `CSM ${this.host.csmId} (epoch ${this.#epoch}) is a backup: ${why}` });
    this.safeEmit('demoted', why, fenced);
    // Follow at once: the view starts from the store, not from what we held.
    void this.#follow();
  }

  #onFollowTimer(): void {
    if (this.#role !== 'backup' || this.#busy) return;
    if (this.#wantActive) {
      this.#serially(() => this.#activate('a retried promotion')).catch((error: Error) => this.logger.debug({ err: error.message }, 'promotion still waits for the store'));
      return;
    }
    void this.#follow();
  }

  /** Reload the view from the store. Errors keep the last view (a backup stays healthy without Redis). */
  async #follow(): Promise<void> {
    if (this.#following || this.#role !== 'backup') return;
    this.#following = true;
    const generation = this.#generation;
    try {
      const state = await this.#load();
      if (generation !== this.#generation || this.#role !== 'backup' || this.#busy || this.#stopped) return;
      this.#storeError = null;
      if (state.snapshot.epoch < this.#storeEpoch) {
        // The store lost its data (a Redis restarted empty); the active re-mirrors it. Keep our view.
        if (!this.#storeBehindLogged) this.logger.warn({ storeEpoch: state.snapshot.epoch, seen: this.#storeEpoch }, 'the store is behind what we have seen; keeping the last view until the active re-mirrors');
        this.#storeBehindLogged = true;
        return;
      }
      this.#storeBehindLogged = false;
      this.#storeEpoch = state.snapshot.epoch;
      this.host.install(state, null);
      this.#lastState = state;
      this.#followedAt = Date.now();
    } catch (error) {
      if (this.#storeError === null) this.logger.warn({ err: (error as Error).message }, 'cannot reload the cluster from the store; keeping the last view');
      this.#storeError = (error as Error).message;
    } finally {
      this.#following = false;
    }
  }

  async #checkEpoch(): Promise<void> {
    if (this.#checking || this.#role !== 'active' || this.host.storeKind === 'memory') return;
    this.#checking = true;
    const epoch = this.#epoch;
    // A reply to a read sent before a stall (SIGSTOP) says nothing about the store after it.
    const stalls = this.#stalls;
    try {
      const stored = await this.host.mirror.currentEpoch();
      this.#storeError = null;
      if (this.#role !== 'active' || epoch !== this.#epoch) return;
      if (stored > epoch) {
        this.stepDown(`the store holds epoch ${stored}, newer than ours (${epoch})`, stored);
        return;
      }
      if (stored < epoch) {
        // A store that lost its data (restarted without persistence): give it our whole state.
        if (!this.#storeBehindLogged) this.logger.warn({ storeEpoch: stored, epoch }, 'the store lost its state; writing ours again');
        this.#storeBehindLogged = true;
        this.host.mirrorWriter.resyncAll();
      } else {
        this.#storeBehindLogged = false;
      }
      if (!this.#confirmed && stalls === this.#stalls) {
        this.#confirmed = true;
        this.logger.info({ epoch }, 'the store confirmed our epoch; serving again');
        this.safeEmit('confirmed');
      }
    } catch (error) {
      if (this.#storeError === null) this.logger.warn({ err: (error as Error).message }, 'cannot read the epoch from the store; serving from memory');
      this.#storeError = (error as Error).message;
    } finally {
      this.#checking = false;
      if (this.suspended && stalls !== this.#stalls) void this.#checkEpoch();
    }
  }

  async #load(): Promise<MirroredState> {
    const [snapshot, titles] = await Promise.all([this.host.mirror.load(), this.host.channelStore.list()]);
    return { snapshot, titles };
  }

  #serially<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(async () => {
      this.#busy = true;
      this.#generation++;
      try {
        return await run();
      } finally {
        this.#busy = false;
      }
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  #every(ms: number, run: () => void): void {
    const timer = setInterval(() => {
      try {
        run();
      } catch (error) {
        this.logger.error({ err: error }, 'role task failed');
      }
    }, ms);
    this.#timers.push(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
