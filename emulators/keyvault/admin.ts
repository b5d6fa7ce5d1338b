import type { EmulatorClock } from './clock.js';
import type { CallCounters, CallCountsSnapshot } from './counters.js';
import { EmulatorAdminError } from './errors.js';
import type { KeyVaultEventSink, KeyVaultSystemEvent } from './events.js';
import type { FaultInjector, FaultRule, FaultRuleInput } from './faults.js';
import type { ThrottleBucket } from './operations.js';
import { defaultThrottleLimits, type ThrottleLimits, type VaultThrottle } from './throttle.js';
import type { SecretVault } from './vault.js';

/**
 * Test and operator controls that Key Vault itself does not have. The same
 * controls are served over HTTP under `/_admin` (see admin-http.ts).
 */
export interface KeyVaultEmulatorAdmin {
  readonly clock: {
    now(): Date;
    /** Moves the emulator's time by `ms` (expiry events and purges that come due fire at once). */
    advance(ms: number): void;
    set(time: Date | string): void;
  };
  readonly faults: {
    inject(rule: FaultRuleInput): FaultRule;
    list(): FaultRule[];
    remove(id: string): boolean;
    clear(): void;
  };
  readonly throttle: {
    /** `false` turns throttling off; a partial object overrides Key Vault's defaults. */
    configure(limits: Partial<ThrottleLimits> | false): void;
    limits(): ThrottleLimits | undefined;
    /** Admitted calls in the current window, per bucket. */
    usage(): Record<ThrottleBucket, number>;
  };
  counters(): CallCountsSnapshot;
  resetCounters(): void;
  /** Every event published since start (or `clearEvents`), oldest first. */
  events(): KeyVaultSystemEvent[];
  clearEvents(): void;
  /** Adds a sink; returns a function that removes it. */
  onEvent(sink: KeyVaultEventSink): () => void;
  /** Publishes due expiry events now (the clock moving does this by itself). */
  checkExpiry(): void;
  /** Forgets every secret, fault, counter and recorded event. */
  reset(): void;
}

export interface AdminParts {
  readonly clock: EmulatorClock;
  readonly vault: SecretVault;
  readonly faults: FaultInjector;
  readonly throttle: VaultThrottle;
  readonly counters: CallCounters;
  readonly eventLog: KeyVaultSystemEvent[];
  readonly sinks: Set<KeyVaultEventSink>;
}

export function createAdmin(parts: AdminParts): KeyVaultEmulatorAdmin {
  const { clock, vault, faults, throttle, counters, eventLog, sinks } = parts;
  return {
    clock: {
      now: () => clock.now(),
      advance: (ms) => {
        if (!Number.isFinite(ms)) throw new EmulatorAdminError('ms', 'must be a finite number of milliseconds');
        clock.advance(ms);
      },
      set: (time) => {
        const date = typeof time === 'string' ? new Date(time) : time;
        if (Number.isNaN(date.getTime())) throw new EmulatorAdminError('time', 'must be an ISO-8601 date-time');
        clock.set(date);
      },
    },
    faults: {
      inject: (rule) => faults.add(rule),
      list: () => faults.list(),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
    },
    throttle: {
      configure: (limits) => throttle.configure(limits === false ? undefined : { ...defaultThrottleLimits, ...limits }),
      limits: () => throttle.limits,
      usage: () => throttle.usage(clock.nowMs()),
    },
    counters: () => counters.snapshot(),
    resetCounters: () => counters.reset(),
    events: () => eventLog.map((e) => structuredClone(e)),
    clearEvents: () => {
      eventLog.length = 0;
    },
    onEvent: (sink) => {
      sinks.add(sink);
      return () => {
        sinks.delete(sink);
      };
    },
    checkExpiry: () => vault.checkExpiry(),
    reset: () => {
      vault.clear();
      faults.clear();
      counters.reset();
      throttle.reset();
      eventLog.length = 0;
    },
  };
}
