import { createLogger, createMemorySink, type LogRecord } from '../../src/observability/logger.js';
import type { Strategy } from '../../src/rotation/model.js';
import type { RotationPolicy } from '../../src/rotation/policy-types.js';
import type { CurrentCredential, PreparedCredential, Rotator, RotatorContext } from '../../src/rotation/rotator.js';
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
  rotator: Rotator;
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
    context(rotationId: string, attempt = 1): RotatorContext {
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
