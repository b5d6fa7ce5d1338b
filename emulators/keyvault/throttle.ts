import type { ThrottleBucket } from './operations.js';

export interface ThrottleLimits {
  readonly windowMs: number;
  readonly createsPerWindow: number;
  readonly othersPerWindow: number;
}

/** Key Vault's published ceiling for secrets: per vault, per 10 seconds. */
export const defaultThrottleLimits: ThrottleLimits = { windowMs: 10_000, createsPerWindow: 300, othersPerWindow: 4_000 };

/**
 * A sliding-window counter per bucket on the emulator clock. Only admitted
 * calls are recorded: a throttled call does not push the window further out,
 * which is how Key Vault behaves and what a client backing off relies on.
 */
export class VaultThrottle {
  #limits: ThrottleLimits | undefined;
  readonly #admitted: Record<ThrottleBucket, number[]> = { create: [], other: [] };

  constructor(limits: ThrottleLimits | undefined) {
    this.#limits = limits;
  }

  get limits(): ThrottleLimits | undefined {
    return this.#limits;
  }

  configure(limits: ThrottleLimits | undefined): void {
    this.#limits = limits;
    this.reset();
  }

  reset(): void {
    this.#admitted.create = [];
    this.#admitted.other = [];
  }

  /** Records the call and returns true, or returns false when the bucket is full. */
  admit(bucket: ThrottleBucket, nowMs: number): boolean {
    const limits = this.#limits;
    if (limits === undefined) return true;
    const admitted = this.#prune(bucket, nowMs, limits.windowMs);
    const limit = bucket === 'create' ? limits.createsPerWindow : limits.othersPerWindow;
    if (admitted.length >= limit) return false;
    admitted.push(nowMs);
    return true;
  }

  usage(nowMs: number): Record<ThrottleBucket, number> {
    const windowMs = this.#limits?.windowMs ?? 0;
    return { create: this.#prune('create', nowMs, windowMs).length, other: this.#prune('other', nowMs, windowMs).length };
  }

  #prune(bucket: ThrottleBucket, nowMs: number, windowMs: number): number[] {
    // Entries after `now` only exist if the clock was set back; they no longer describe the past.
    const kept = this.#admitted[bucket].filter((t) => t > nowMs - windowMs && t <= nowMs);
    this.#admitted[bucket] = kept;
    return kept;
  }
}
