import { randomUUID } from 'node:crypto';
import { createLogger, createMemorySink, type LogRecord } from '../../src/observability/logger.js';
import type { RotationPolicy } from '../../src/rotation/policy-types.js';
import type { Strategy } from '../../src/rotation/model.js';
import type { CurrentCredential, PreparedCredential, RotatorCall } from '../../src/rotation/rotator.js';
import { SecretValue } from '../../src/secrecy/secret-value.js';

/**
 * What the engine hands a rotator, built by hand for rotator-level tests
 * (call it through `engineView` in ./rotator-harness.ts, which adds the config):
 * a policy from tags, the current credential, an in-memory vault for
 * `readSecret`, and a log that keeps its records for leak checks.
 */
export interface TestRotatorContextOptions {
  readonly rotator: string;
  readonly strategy: Strategy;
  readonly target?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly current: { readonly value: string; readonly slot?: string; readonly contentType?: string };
  /** Other secrets of the vault, by name (admin credentials, signing keys). */
  readonly vault?: Readonly<Record<string, string>>;
  readonly rotationId?: string;
  readonly attempt?: number;
}

export interface TestRotatorContext extends RotatorCall {
  readonly logRecords: LogRecord[];
  /** Names `readSecret` was asked for, in order. */
  readonly secretsRead: string[];
}

export function testPolicy(options: Pick<TestRotatorContextOptions, 'rotator' | 'strategy' | 'target' | 'tags'>): RotationPolicy {
  return {
    rotator: options.rotator,
    strategy: options.strategy,
    ...(options.target === undefined ? {} : { target: options.target }),
    validityMs: 90 * 24 * 3600 * 1000,
    graceMs: 0,
    health: [],
    tags: {
      'rotor-rotator': options.rotator,
      'rotor-strategy': options.strategy,
      ...(options.target === undefined ? {} : { 'rotor-target': options.target }),
      ...options.tags,
    },
  };
}

export function testRotatorContext(options: TestRotatorContextOptions): TestRotatorContext {
  const sink = createMemorySink();
  const secretsRead: string[] = [];
  const vault = options.vault ?? {};
  const current: CurrentCredential = {
    version: randomUUID().replaceAll('-', ''),
    value: SecretValue.from(options.current.value),
    tags: {},
    ...(options.current.slot === undefined ? {} : { slot: options.current.slot }),
    ...(options.current.contentType === undefined ? {} : { contentType: options.current.contentType }),
  };
  return {
    rotationId: options.rotationId ?? randomUUID(),
    secret: { vaultUrl: 'https://kv-test.vault.azure.net', name: 'app-db' },
    policy: testPolicy(options),
    current,
    attempt: options.attempt ?? 1,
    log: createLogger(sink, { level: 'debug' }),
    logRecords: sink.records,
    secretsRead,
    readSecret: (name) => {
      secretsRead.push(name);
      const value = vault[name];
      return value === undefined ? Promise.reject(new Error(`test vault has no secret "${name}"`)) : Promise.resolve(SecretValue.from(value));
    },
  };
}

/** The same rotation after promote: the prepared credential is now the secret's current one. */
export function promoted(context: TestRotatorContext, prepared: PreparedCredential, next: Partial<Pick<TestRotatorContextOptions, 'rotationId'>> = {}): TestRotatorContext {
  return {
    ...context,
    rotationId: next.rotationId ?? context.rotationId,
    current: {
      version: randomUUID().replaceAll('-', ''),
      value: prepared.value,
      tags: {},
      ...(prepared.slot === undefined ? {} : { slot: prepared.slot }),
      ...(prepared.contentType === undefined ? {} : { contentType: prepared.contentType }),
    },
  };
}
