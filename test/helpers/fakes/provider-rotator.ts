import { randomBytes } from 'node:crypto';
import { RotatorError, RotatorErrorCode } from '../../../src/rotation/rotator-errors.js';
import type { CurrentCredential, PreparedCredential, Rotator, RotatorContext } from '../../../src/rotation/rotator.js';
import { Strategy } from '../../../src/rotation/model.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';

/**
 * A credential provider in memory, with the two shapes Rotor knows:
 * - alternating: two slots (`key1`/`key2`); prepare regenerates the slot not
 *   in use, restore regenerates it again (the minted value stops working),
 *   revoke regenerates the superseded slot;
 * - single: one credential; prepare only generates, apply sets it, restore
 *   puts the previous one back.
 * `accepts(value)` is the provider's answer, used by `test` and by invariant
 * checks (I1). Failures can be injected per method.
 */
export interface FakeProvider {
  readonly rotator: Rotator;
  accepts(value: string): boolean;
  /** Values the provider accepts now (for leak scans: include them). */
  liveValues(): string[];
  /** Every value the provider ever issued, for leak scans. */
  issuedValues(): string[];
  /** Throw this error from the next `count` calls of `method`. */
  failNext(method: 'prepare' | 'apply' | 'test' | 'restore' | 'revoke', error: RotatorError, count?: number): void;
  readonly calls: Record<'prepare' | 'apply' | 'test' | 'restore' | 'revoke', number>;
}

export function createFakeProvider(options: { kind?: string; strategy: Strategy; initial: string }): FakeProvider {
  const slots = new Map<string, string>([
    ['key1', options.initial],
    ['key2', `unused-${randomBytes(12).toString('hex')}`],
  ]);
  let single = options.initial;
  const issued: string[] = [...slots.values()];
  const calls = { prepare: 0, apply: 0, test: 0, restore: 0, revoke: 0 };
  const failures = new Map<keyof typeof calls, { error: RotatorError; count: number }>();
  const mint = (): string => {
    const value = `minted-${randomBytes(16).toString('hex')}`;
    issued.push(value);
    return value;
  };
  const maybeFail = (method: keyof typeof calls): void => {
    calls[method] += 1;
    const failure = failures.get(method);
    if (failure === undefined || failure.count <= 0) return;
    failure.count -= 1;
    throw failure.error;
  };
  const inactive = (current: CurrentCredential): string => (current.slot === 'key2' ? 'key1' : 'key2');

  const rotator: Rotator = {
    kind: options.kind ?? (options.strategy === Strategy.Alternating ? 'fake-alternating' : 'fake-single'),
    strategies: [options.strategy],
    readConfig: () => ({ ok: true, config: undefined }),
    prepare(context: RotatorContext): Promise<PreparedCredential> {
      maybeFail('prepare');
      if (options.strategy === Strategy.Alternating) {
        const slot = inactive(context.current);
        const value = mint();
        slots.set(slot, value);
        return Promise.resolve({ value: SecretValue.from(value), slot, refs: { keyName: slot } });
      }
      return Promise.resolve({ value: SecretValue.from(mint()) });
    },
    ...(options.strategy === Strategy.Single
      ? {
          apply(_context: RotatorContext, prepared: PreparedCredential): Promise<void> {
            maybeFail('apply');
            single = prepared.value.reveal();
            return Promise.resolve();
          },
        }
      : {}),
    test(_context, credential) {
      maybeFail('test');
      const ok = options.strategy === Strategy.Alternating ? [...slots.values()].includes(credential.reveal()) : single === credential.reveal();
      return Promise.resolve(ok ? { ok: true } : { ok: false, reason: 'the provider rejects the credential' });
    },
    restore(_context, previous, prepared) {
      maybeFail('restore');
      if (options.strategy === Strategy.Alternating) {
        if (prepared.slot !== undefined && prepared.slot !== previous.slot) slots.set(prepared.slot, mint());
      } else {
        single = previous.value.reveal();
      }
      return Promise.resolve();
    },
    revoke(_context, superseded) {
      maybeFail('revoke');
      if (options.strategy === Strategy.Alternating && superseded.slot !== undefined) slots.set(superseded.slot, mint());
      return Promise.resolve();
    },
  };

  return {
    rotator,
    calls,
    accepts: (value) => (options.strategy === Strategy.Alternating ? [...slots.values()].includes(value) : single === value),
    liveValues: () => (options.strategy === Strategy.Alternating ? [...slots.values()] : [single]),
    issuedValues: () => [...issued],
    failNext(method, error, count = 1) {
      failures.set(method, { error, count });
    },
  };
}

export { RotatorError, RotatorErrorCode };
