import { describe, expect, it } from 'vitest';
import type { RotationPolicy } from '../../../../src/rotation/policy-types.js';
import { Alphabet, classOf, conforms, generateValue } from '../../../../src/rotators/random/generate.js';
import { createRandomRotator, readRandomOptions } from '../../../../src/rotators/random/random-rotator.js';
import type { RotatorCall } from '../../../../src/rotation/rotator.js';
import { engineView } from '../../../helpers/rotator-harness.js';
import { SecretValue } from '../../../../src/secrecy/secret-value.js';

function policy(tags: Record<string, string>): RotationPolicy {
  return { rotator: 'random', strategy: 'single', validityMs: 1, graceMs: 0, health: [], tags: { 'rotor-rotator': 'random', ...tags } };
}

function context(tags: Record<string, string>): RotatorCall {
  return {
    rotationId: 'r1',
    secret: { vaultUrl: 'https://kv.vault.azure.net', name: 's' },
    policy: policy(tags),
    current: { version: 'v1', value: SecretValue.from('current-value'), tags: {} },
    attempt: 1,
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    readSecret: () => Promise.reject(new Error('not used')),
  };
}

describe('the random rotator', () => {
  it.each([
    [{}, /^[A-Za-z0-9]{32}$/],
    [{ 'rotor-random-length': '64', 'rotor-random-alphabet': 'hex' }, /^[0-9a-f]{64}$/],
    [{ 'rotor-random-length': '20', 'rotor-random-alphabet': 'base64url' }, /^[A-Za-z0-9_-]{20}$/],
    [{ 'rotor-random-alphabet': 'ascii-printable', 'rotor-random-require': 'lower, upper,digit,symbol' }, /^[!-~]{32}$/],
  ])('prepares a value for %j', async (tags, shape) => {
    // Prepare
    const rotator = engineView(createRandomRotator());

    // Act
    const prepared = await rotator.prepare(context(tags));

    // Assess
    expect(rotator.validate(policy(tags))).toEqual([]);
    expect(prepared.value.reveal()).toMatch(shape);
    expect(await rotator.test(context(tags), prepared.value)).toEqual({ ok: true });
  });

  it('self-test fails for a value without the required shape', async () => {
    const rotator = engineView(createRandomRotator());
    const result = await rotator.test(context({ 'rotor-random-length': '16' }), SecretValue.from('short'));
    expect(result.ok).toBe(false);
  });

  it('has no apply, restore or revoke: nothing lives outside the vault', () => {
    const rotator = createRandomRotator();
    expect(['apply', 'restore', 'revoke'].filter((method) => method in rotator)).toEqual([]);
    expect(rotator.strategies).toEqual(['single']);
  });

  it('names the tag of each problem', () => {
    const reading = readRandomOptions({ 'rotor-random-length': 'long', 'rotor-random-require': 'vowels' });
    expect(reading.ok ? [] : reading.problems.map((p) => p.tag).sort()).toEqual(['rotor-random-length', 'rotor-random-require']);
  });
});

describe('generateValue', () => {
  it('always contains every required class, even when short', () => {
    // Prepare
    const options = { length: 16, alphabet: Alphabet['ascii-printable'], require: ['lower', 'upper', 'digit', 'symbol'] as const };

    // Act
    const values = Array.from({ length: 500 }, () => generateValue({ ...options, require: [...options.require] }));

    // Assess
    for (const value of values) expect(new Set([...value].map(classOf)).size).toBe(4);
  });

  it('draws every character of the alphabet equally often (chi-square, p < 1e-9 to fail by chance)', () => {
    // Prepare
    const alphabet = Alphabet.alphanumeric;
    const counts = new Map<string, number>([...alphabet].map((c) => [c, 0]));

    // Act
    for (let i = 0; i < 2_000; i += 1) for (const c of generateValue({ length: 62, alphabet, require: [] })) counts.set(c, (counts.get(c) ?? 0) + 1);

    // Assess: 124,000 draws; a modulo-biased byte mapping would score in the hundreds
    const expected = 124_000 / alphabet.length;
    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(140);
  });

  it('checks conformity exactly', () => {
    const options = { length: 4, alphabet: Alphabet.hex, require: ['digit' as const] };
    expect(conforms('ab12', options)).toBe(true);
    expect(conforms('abcd', options)).toBe(false);
    expect(conforms('ab1', options)).toBe(false);
    expect(conforms('ab1G', options)).toBe(false);
  });
});
