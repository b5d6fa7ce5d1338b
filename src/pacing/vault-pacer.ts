import { systemClock, type Clock } from '../rotation/ports.js';
import { PacingConflictError } from './errors.js';

/**
 * Rotor's own pace under Key Vault's throttle, per vault, shared by every
 * instance.
 *
 * Key Vault admits, per vault and per 10 seconds, about 300 secret creates and
 * 4,000 other calls, and answers the rest 429 (mostly without Retry-After).
 * Rather than meet those 429s, Rotor hands out the budget itself: time is cut
 * into 1-second slots, each slot may carry a tenth of `target` × the limit,
 * and instances claim their calls from a slot through one shared record per
 * vault (the ledger's storage, ETag-guarded). A caller the current slot cannot
 * serve is told the slot it may come back in, so a step is scheduled for then
 * instead of being sent into a 429.
 *
 * Any 10-s window overlaps at most 11 slots, so the calls in it stay under
 * 1.1 × target × limit: at the default target of 0.9 that is 99% of the limit,
 * and steady use is 90%. A 429 still met (another application on the vault,
 * or a limit lower than published) halves the vault's rate; it then grows back
 * by a tenth per quiet window (AIMD), for every instance, since the rate lives
 * in the shared record too.
 */

export const PacingBucket = { Create: 'create', Other: 'other' } as const;
export type PacingBucket = (typeof PacingBucket)[keyof typeof PacingBucket];

/** Key Vault's published secret limits, per vault per 10 seconds. */
export const keyVaultSecretLimits: Readonly<Record<PacingBucket, number>> = { create: 300, other: 4_000 };

export const WINDOW_MS = 10_000;
export const SLOT_MS = 1_000;
const SLOTS_PER_WINDOW = WINDOW_MS / SLOT_MS;
/** The rate never falls below this share of the target, so a vault always makes progress. */
export const MIN_RATE = 0.05;
/** The rate regained per 10-s window without a 429. */
export const RATE_INCREASE_PER_WINDOW = 0.1;
/** How far ahead a caller may be told to come back. */
const MAX_SLOTS_AHEAD = 600;

/** The shared record of one vault. */
export interface VaultBudgetState {
  /** Share of the target in force since `rateAt` (AIMD), before the increase since then. */
  readonly rate: number;
  readonly rateAt: number;
  /** Calls granted per slot (slot start in ms since the epoch), the current slot and later only. */
  readonly slots: Readonly<Record<string, Readonly<Record<PacingBucket, number>>>>;
}

/** Where the shared records live; `write` answers false when the record changed since `etag` (or exists, with no etag). */
export interface PacingStore {
  read(vault: string): Promise<{ readonly state: VaultBudgetState; readonly etag: string } | undefined>;
  write(vault: string, state: VaultBudgetState, etag: string | undefined): Promise<boolean>;
}

export type Grant = { readonly granted: true } | { readonly granted: false; /** Start of the slot to come back in. */ readonly notBefore: Date };

export interface VaultPacer {
  /** Claims `count` calls of `bucket` on the vault now, or says when to come back. */
  take(vaultUrl: string, bucket: PacingBucket, count?: number): Promise<Grant>;
  /** Key Vault answered 429: halve the vault's rate for every instance (once per slot, however many 429s came in it). */
  throttled(vaultUrl: string): Promise<void>;
  /** The vault's rate now (1 = the whole target). */
  rateOf(vaultUrl: string): Promise<number>;
  /** Calls per 10-s window the vault's budget allows Rotor now: limit × target × rate. */
  budgetOf(vaultUrl: string): Promise<Readonly<Record<PacingBucket, number>>>;
}

export interface VaultPacerOptions {
  readonly store: PacingStore;
  readonly clock?: Clock;
  /** Share of the service limit Rotor may use, per vault (a vault is often shared with applications); 0.9 when absent. */
  readonly targetFor?: (vaultUrl: string) => number;
  readonly limits?: Readonly<Record<PacingBucket, number>>;
}

export const DEFAULT_PACING_TARGET = 0.9;

/** The rate in force at `nowMs`: the last decrease plus the windows since. */
export function effectiveRate(state: Pick<VaultBudgetState, 'rate' | 'rateAt'>, nowMs: number): number {
  const windows = Math.max(0, Math.floor((nowMs - state.rateAt) / WINDOW_MS));
  return Math.min(1, Math.max(MIN_RATE, state.rate + windows * RATE_INCREASE_PER_WINDOW));
}

/** Calls one slot may carry. */
export function slotCapacity(limit: number, target: number, rate: number): number {
  return Math.max(1, Math.floor((limit * target * rate) / SLOTS_PER_WINDOW));
}

function vaultKey(vaultUrl: string): string {
  return new URL(vaultUrl).host.toLowerCase();
}

const emptyState = (nowMs: number): VaultBudgetState => ({ rate: 1, rateAt: nowMs, slots: {} });

export function createVaultPacer(options: VaultPacerOptions): VaultPacer {
  const clock = options.clock ?? systemClock;
  const limits = options.limits ?? keyVaultSecretLimits;
  const targetFor = options.targetFor ?? (() => DEFAULT_PACING_TARGET);
  /** Calls this instance claimed and has not spent yet, per vault and bucket, for one slot. */
  const held = new Map<string, { slot: number; create: number; other: number }>();
  /** The last slot found full, per vault and bucket: later callers in it are answered without a read. */
  const full = new Map<string, { slot: number; capacity: number }>();
  /** Callers told to come back, per vault, bucket and slot: later ones are spread over later slots. */
  const promised = new Map<string, { slot: number; taken: number }>();

  async function update(vault: string, change: (state: VaultBudgetState, nowMs: number) => VaultBudgetState | undefined): Promise<VaultBudgetState> {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const nowMs = clock.now().getTime();
      const found = await options.store.read(vault);
      const current = found?.state ?? emptyState(nowMs);
      const next = change(current, nowMs);
      if (next === undefined) return current;
      if (await options.store.write(vault, prune(next, nowMs), found?.etag)) return next;
    }
    throw new PacingConflictError(`pacing record of ${vault}: contended, try again`);
  }

  function prune(state: VaultBudgetState, nowMs: number): VaultBudgetState {
    const current = Math.floor(nowMs / SLOT_MS) * SLOT_MS;
    const slots = Object.fromEntries(Object.entries(state.slots).filter(([slot]) => Number(slot) >= current));
    return { ...state, slots };
  }

  function comeBackAt(vault: string, bucket: PacingBucket, fromSlot: number, capacity: number, count: number): Date {
    const key = `${vault}|${bucket}`;
    let queue = promised.get(key);
    if (queue === undefined || queue.slot <= fromSlot) {
      queue = { slot: fromSlot + SLOT_MS, taken: 0 };
      promised.set(key, queue);
    }
    // Fill the first later slot with room, then the next: a crowd comes back spread out, not at once.
    if (queue.taken + count > capacity && queue.slot < fromSlot + MAX_SLOTS_AHEAD * SLOT_MS) {
      queue.slot += SLOT_MS;
      queue.taken = 0;
    }
    queue.taken += count;
    return new Date(queue.slot);
  }

  async function rateOf(vaultUrl: string): Promise<number> {
    const found = await options.store.read(vaultKey(vaultUrl));
    return found === undefined ? 1 : effectiveRate(found.state, clock.now().getTime());
  }

  /** What this instance can answer without the shared record: from calls it holds, or a slot it knows is full. */
  function fromMemory(vault: string, bucket: PacingBucket, count: number): Grant | undefined {
    const slot = Math.floor(clock.now().getTime() / SLOT_MS) * SLOT_MS;
    const mine = held.get(vault);
    if (mine !== undefined && mine.slot === slot && mine[bucket] >= count) {
      mine[bucket] -= count;
      return { granted: true };
    }
    const known = full.get(`${vault}|${bucket}`);
    if (known !== undefined && known.slot === slot) return { granted: false, notBefore: comeBackAt(vault, bucket, slot, known.capacity, count) };
    return undefined;
  }

  async function claimShared(vaultUrl: string, vault: string, bucket: PacingBucket, count: number): Promise<Grant> {
    const slot = Math.floor(clock.now().getTime() / SLOT_MS) * SLOT_MS;
    const target = targetFor(vaultUrl);
    let granted = 0;
    let capacity = 1;
    await update(vault, (state, at) => {
      const rate = effectiveRate(state, at);
      capacity = slotCapacity(limits[bucket], target, rate);
      const used = state.slots[String(slot)]?.[bucket] ?? 0;
      if (used + count > capacity) {
        granted = 0;
        return undefined;
      }
      // Claim a quarter of the slot at once, so that one shared write serves several calls.
      granted = Math.min(capacity - used, Math.max(count, Math.ceil(capacity / 4)));
      const before = state.slots[String(slot)] ?? { create: 0, other: 0 };
      return { ...state, slots: { ...state.slots, [String(slot)]: { ...before, [bucket]: used + granted } } };
    });
    if (granted === 0) {
      full.set(`${vault}|${bucket}`, { slot, capacity });
      return { granted: false, notBefore: comeBackAt(vault, bucket, slot, capacity, count) };
    }
    const local = held.get(vault);
    const fresh = local === undefined || local.slot !== slot ? { slot, create: 0, other: 0 } : local;
    fresh[bucket] += granted - count;
    held.set(vault, fresh);
    return { granted: true };
  }

  /** One claim on the shared record per vault and bucket at a time: callers arriving meanwhile wait for it and share what it claimed. */
  const claiming = new Map<string, Promise<Grant>>();

  return {
    async take(vaultUrl, bucket, count = 1) {
      const vault = vaultKey(vaultUrl);
      const key = `${vault}|${bucket}`;
      for (;;) {
        const answered = fromMemory(vault, bucket, count);
        if (answered !== undefined) return answered;
        const pending = claiming.get(key);
        if (pending === undefined) break;
        await pending.catch(() => undefined);
      }
      const claim = claimShared(vaultUrl, vault, bucket, count);
      claiming.set(key, claim);
      try {
        return await claim;
      } finally {
        if (claiming.get(key) === claim) claiming.delete(key);
      }
    },

    async throttled(vaultUrl) {
      const vault = vaultKey(vaultUrl);
      held.delete(vault);
      full.set(`${vault}|create`, { slot: Math.floor(clock.now().getTime() / SLOT_MS) * SLOT_MS, capacity: 1 });
      full.set(`${vault}|other`, { slot: Math.floor(clock.now().getTime() / SLOT_MS) * SLOT_MS, capacity: 1 });
      // The 429s of one burst (many calls refused in the same second) halve the rate once, not once each.
      await update(vault, (state, at) =>
        state.rate < 1 && at - state.rateAt < SLOT_MS ? undefined : { ...state, rate: Math.max(MIN_RATE, effectiveRate(state, at) / 2), rateAt: at },
      );
    },

    rateOf,

    async budgetOf(vaultUrl) {
      const share = targetFor(vaultUrl) * (await rateOf(vaultUrl));
      return { create: Math.floor(limits.create * share), other: Math.floor(limits.other * share) };
    },
  };
}

/** The records in memory, for one process (tests, fakes). */
export function createMemoryPacingStore(): PacingStore & { readonly writes: number } {
  const records = new Map<string, { state: VaultBudgetState; etag: string }>();
  let version = 0;
  let writes = 0;
  return {
    get writes() {
      return writes;
    },
    read(vault) {
      const found = records.get(vault);
      return Promise.resolve(found === undefined ? undefined : { state: structuredClone(found.state), etag: found.etag });
    },
    write(vault, state, etag) {
      const found = records.get(vault);
      if ((found === undefined) !== (etag === undefined) || (found !== undefined && found.etag !== etag)) return Promise.resolve(false);
      version += 1;
      writes += 1;
      records.set(vault, { state: structuredClone(state), etag: String(version) });
      return Promise.resolve(true);
    },
  };
}
