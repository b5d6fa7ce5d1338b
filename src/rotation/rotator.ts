import type { SecretRef } from '../keyvault/secret-ref.js';
import type { SecretValue } from '../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from './rotator-errors.js';
import type { Strategy } from './model.js';
import type { RotationPolicy } from './policy-types.js';

/**
 * The plug-in point for one kind of credential. The engine calls these in
 * protocol order and persists everything they return before the next step, so
 * a rotator never stores state of its own; what it needs again later it puts
 * in `refs` (ids, slot names — never values).
 *
 * Idempotence (I4): every method may be called again for the same rotation
 * after a crash, with the same inputs. A method that creates something at the
 * provider must find and reuse (or clean up) what an earlier attempt of the same
 * `rotationId` created, so that no orphaned credentials accumulate.
 *
 * Errors: throw `RotatorError` (src/rotation/rotator-errors.ts) with `transient: true`
 * for what may succeed on retry (timeouts, 429, 5xx, connection resets) and
 * `transient: false` for what never will (bad target, permission denied).
 * Messages must not contain values.
 *
 * Config: the rotator reads its own tags in one place, `readConfig`; the engine
 * calls it (at `begin` to refuse a bad policy before anything is written, then
 * once per step) and hands the typed result to every method as `context.config`.
 */
export interface Rotator<Config = unknown> {
  /** The `rotor-rotator` tag value that selects this rotator. */
  readonly kind: string;
  readonly strategies: readonly Strategy[];

  /**
   * alternating: `restore` must get the prepared credential exactly as
   * `prepare` returned it, value and `refs` included, even after a crash (the
   * webhook sends it to its receiver). The engine then keeps it in a pending
   * version (two creates per rotation). Without it, an alternating rotation
   * mints and writes the new version in one step (one create), and `restore`
   * gets the value and slot read back from that version, and the `refs` as
   * recorded (absent when a crash came between the write and the record).
   */
  readonly restoreNeedsPrepared?: boolean;

  /** Reads the rotator's own tags on the policy: its typed config, or every problem, each naming its tag. Pure. */
  readConfig(policy: RotationPolicy): ConfigReading<Config>;

  /**
   * Mints or generates the new credential.
   * - alternating: make it valid on the inactive slot now; the active slot is untouched.
   * - single: generate only; nothing changes at the provider until `apply`.
   */
  prepare(context: RotatorContext<Config>): Promise<PreparedCredential>;

  /** single only: make the prepared credential valid at the provider. */
  apply?(context: RotatorContext<Config>, prepared: PreparedCredential): Promise<void>;

  /** Self-test: does the provider accept this credential (log in, call an API)? */
  test(context: RotatorContext<Config>, credential: SecretValue): Promise<CredentialTestResult>;

  /** Rollback at the provider: make `previous` the working credential again (single), or undo `prepare` (alternating). */
  restore?(context: RotatorContext<Config>, previous: CurrentCredential, prepared: PreparedCredential): Promise<void>;

  /** Invalidate the superseded credential at the provider (revoke-after). */
  revoke?(context: RotatorContext<Config>, superseded: CurrentCredential): Promise<void>;
}

/** A rotator's reading of its tags: the typed config, or every problem, each naming its tag. */
export type ConfigReading<Config> = { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

export interface PolicyProblem {
  /** The tag that is wrong, as the operator wrote it: `rotor-target`. */
  readonly tag: string;
  readonly message: string;
}

/** The credential the secret holds now (latest enabled version). */
export interface CurrentCredential {
  readonly version: string;
  readonly value: SecretValue;
  readonly contentType?: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Slot the current value belongs to (engine tag `rotor-slot`), for alternating. */
  readonly slot?: string;
}

/** What the engine knows of a call before the rotator's config is read. */
export interface RotatorCall {
  readonly rotationId: string;
  readonly secret: SecretRef;
  readonly policy: RotationPolicy;
  readonly current: CurrentCredential;
  /** 1 for the first try of the step, 2+ on retries and redeliveries. */
  readonly attempt: number;
  readonly signal?: AbortSignal;
  readonly log: RotatorLog;
  /** Reads another secret of the same vault (admin credentials, signing keys). */
  readonly readSecret: (name: string) => Promise<SecretValue>;
}

export interface RotatorContext<Config = unknown> extends RotatorCall {
  /** The rotator's own config, read from `policy` by `readConfig` before the call. */
  readonly config: Config;
}

export interface PreparedCredential {
  readonly value: SecretValue;
  /** Slot the new value lives on (alternating): `key2`, `app_b`. */
  readonly slot?: string;
  readonly contentType?: string;
  /** What the rotator needs to find this credential again: provider ids, never values. */
  readonly refs?: Readonly<Record<string, string>>;
}

export type CredentialTestResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Structured log for rotators; values never go in. */
export interface RotatorLog {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Rotators by kind; the engine looks up `policy.rotator` here. */
export type RotatorRegistry = ReadonlyMap<string, Rotator>;

export function createRotatorRegistry(rotators: readonly Rotator[]): RotatorRegistry {
  const registry = new Map<string, Rotator>();
  for (const rotator of rotators) {
    if (registry.has(rotator.kind)) throw new Error(`Two rotators claim kind "${rotator.kind}"`);
    registry.set(rotator.kind, rotator);
  }
  return registry;
}

/** Every problem a policy has for this rotator: a strategy it does not support, then its own tags. Empty when valid. */
export function rotatorProblems(rotator: Rotator, policy: RotationPolicy): readonly PolicyProblem[] {
  const strategy: readonly PolicyProblem[] = rotator.strategies.includes(policy.strategy)
    ? []
    : [{ tag: 'rotor-strategy', message: `rotator ${rotator.kind} supports ${rotator.strategies.join(' or ')}, not ${policy.strategy}` }];
  const reading = rotator.readConfig(policy);
  return reading.ok ? strategy : [...strategy, ...reading.problems];
}

/**
 * The engine's one reading of a rotator's config for a call. Begin refused a
 * policy with problems, so a problem here means tags no rotator accepts:
 * InvalidConfiguration, which no retry mends.
 */
export function withConfig<Config>(rotator: Rotator<Config>, call: RotatorCall): RotatorContext<Config> {
  const reading = rotator.readConfig(call.policy);
  if (!reading.ok) {
    throw new RotatorError(RotatorErrorCode.InvalidConfiguration, `invalid ${rotator.kind} policy: ${reading.problems.map((p) => `${p.tag} ${p.message}`).join('; ')}`);
  }
  return { ...call, config: reading.config };
}
