import { createLogger, createMemorySink, type LogRecord } from '../../src/observability/logger.js';
import type { Strategy } from '../../src/rotation/model.js';
import type { RotationPolicy } from '../../src/rotation/policy-types.js';
import {
  rotatorProblems,
  withConfig,
  type CredentialTestResult,
  type CurrentCredential,
  type PolicyProblem,
  type PreparedCredential,
  type Rotator,
  type RotatorCall,
} from '../../src/rotation/rotator.js';
import { SecretValue } from '../../src/secrecy/secret-value.js';

export const testVault = 'https://kv-rotor-test.vault.azure.net';
const dayMs = 24 * 3600_000;

export function policyFor(input: {
  rotator: string;
  target?: string;
  tags?: Record<string, string>;
  strategy?: Strategy;
  validityMs?: number;
}): RotationPolicy {
  return {
    rotator: input.rotator,
    ...(input.target === undefined ? {} : { target: input.target }),
    strategy: input.strategy ?? 'alternating',
    validityMs: input.validityMs ?? 90 * dayMs,
    graceMs: 0,
    health: [],
    tags: { 'rotor-rotator': input.rotator, ...(input.target === undefined ? {} : { 'rotor-target': input.target }), ...input.tags },
  };
}

/**
 * What the engine does around a rotator, reduced to what rotator tests need:
 * the secret's current credential, other secrets of the vault, and a promote
 * that makes a prepared credential current (with the slot the engine tags).
 * Calls go straight to the rotator, in protocol order, as the engine makes them.
 */
export function createRotationHarness(input: {
  rotator: EngineView;
  policy: RotationPolicy;
  secretName?: string;
  initial: { value: string; slot?: string; tags?: Record<string, string> };
  otherSecrets?: Record<string, string>;
}) {
  const sink = createMemorySink();
  const log = createLogger(sink, { level: 'debug' });
  let version = 0;
  const nextVersion = () => `v${String(++version).padStart(31, '0')}`;
  let policy = input.policy;
  let current: CurrentCredential = {
    version: nextVersion(),
    value: SecretValue.from(input.initial.value),
    tags: { ...input.policy.tags, ...input.initial.tags },
    ...(input.initial.slot === undefined ? {} : { slot: input.initial.slot }),
  };
  const history: CurrentCredential[] = [current];
  const others = new Map(Object.entries(input.otherSecrets ?? {}));
  const secret = { vaultUrl: testVault, name: input.secretName ?? 'app-credential' };

  return {
    secret,
    get current() {
      return current;
    },
    history,
    logs: sink.records as readonly LogRecord[],
    setPolicy(next: RotationPolicy) {
      policy = next;
    },
    setOtherSecret(name: string, value: string) {
      others.set(name, value);
    },
    context(rotationId: string, attempt = 1): RotatorCall {
      return {
        rotationId,
        secret,
        policy,
        current,
        attempt,
        log: log.child({ rotationId }),
        readSecret: (name) => {
          const value = others.get(name);
          return value === undefined ? Promise.reject(new Error(`secret ${name} not found`)) : Promise.resolve(SecretValue.from(value));
        },
      };
    },
    /** The engine's promote: the prepared value becomes the latest version, carrying the slot. */
    promote(rotationId: string, prepared: PreparedCredential): CurrentCredential {
      current = {
        version: nextVersion(),
        value: prepared.value,
        tags: { ...policy.tags, 'rotor-rotation': rotationId, ...(prepared.slot === undefined ? {} : { 'rotor-slot': prepared.slot }) },
        ...(prepared.slot === undefined ? {} : { slot: prepared.slot }),
      };
      history.push(current);
      return current;
    },
    /** The engine's rollback: the previous value becomes the latest again (as a new version). */
    restoreVersion(previous: CurrentCredential): void {
      current = { ...previous, version: nextVersion() };
      history.push(current);
    },
    /** Text of every log line, for leak checks. */
    logText(): string[] {
      return sink.records.map((r) => JSON.stringify(r));
    },
  };
}

export async function expectRotatorError(promise: Promise<unknown>): Promise<{ code: string; transient: boolean; message: string; retryAfterMs?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; transient: boolean; message: string; retryAfterMs?: number };
  }
  throw new Error('expected the call to fail');
}

/** A rotator as the engine calls it: the steps hand each method a call without config, and `withConfig` reads it from the call's policy. */
export interface EngineView {
  readonly kind: string;
  /** What begin reports for this rotator on a policy (strategy, then its own tags). */
  validate(policy: RotationPolicy): readonly PolicyProblem[];
  prepare(call: RotatorCall): Promise<PreparedCredential>;
  apply?(call: RotatorCall, prepared: PreparedCredential): Promise<void>;
  test(call: RotatorCall, credential: SecretValue): Promise<CredentialTestResult>;
  restore?(call: RotatorCall, previous: CurrentCredential, prepared: PreparedCredential): Promise<void>;
  revoke?(call: RotatorCall, superseded: CurrentCredential): Promise<void>;
}

/** Rotator tests call through this, so a bad policy fails the call with InvalidConfiguration exactly as in a step. */
export function engineView<Config>(rotator: Rotator<Config>): EngineView {
  const configured = (call: RotatorCall) => withConfig(rotator, call);
  return {
    kind: rotator.kind,
    validate: (policy) => rotatorProblems(rotator, policy),
    prepare: async (call) => rotator.prepare(configured(call)),
    test: async (call, credential) => rotator.test(configured(call), credential),
    ...(rotator.apply === undefined ? {} : { apply: async (call: RotatorCall, prepared: PreparedCredential) => rotator.apply?.(configured(call), prepared) }),
    ...(rotator.restore === undefined
      ? {}
      : { restore: async (call: RotatorCall, previous: CurrentCredential, prepared: PreparedCredential) => rotator.restore?.(configured(call), previous, prepared) }),
    ...(rotator.revoke === undefined ? {} : { revoke: async (call: RotatorCall, superseded: CurrentCredential) => rotator.revoke?.(configured(call), superseded) }),
  };
}
