import { inspect, format } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REDACTED, SecretValue, isSecretValue } from '../../../src/secrecy/secret-value.js';

const plain = 'hunter2-Pa$$w0rd-8f3a';

describe('SecretValue', () => {
  const secret = SecretValue.from(plain);

  it.each([
    ['String()', () => String(secret)],
    ['template literal', () => `value=${secret as unknown as string}`],
    ['string concatenation', () => 'value=' + (secret as unknown as string)],
    ['JSON.stringify', () => JSON.stringify({ nested: { secret } })],
    ['util.inspect', () => inspect({ secret }, { depth: 5, showHidden: true })],
    ['util.format %s', () => format('%s', secret)],
    ['util.format %o', () => format('%o', secret)],
    ['util.format %j', () => format('%j', { secret })],
    ['Error message', () => new Error(`failed with ${secret as unknown as string}`).message],
    ['Object.entries', () => JSON.stringify(Object.entries(secret))],
    ['object spread', () => inspect({ ...secret }) + JSON.stringify({ ...secret })],
  ])('redacts through %s', (_how, render) => {
    // Act
    const text = render();

    // Assess
    expect(text).not.toContain(plain);
    expect(text).not.toContain('hunter2');
  });

  it('prints a recognisable redaction marker', () => {
    expect(String(secret)).toBe(REDACTED);
    expect(JSON.stringify(secret)).toBe(`"${REDACTED}"`);
    expect(inspect(secret)).toBe(`SecretValue(${REDACTED})`);
  });

  it('gives the value back only through reveal()', () => {
    expect(secret.reveal()).toBe(plain);
    expect(secret.length).toBe(plain.length);
    expect(isSecretValue(secret)).toBe(true);
    expect(isSecretValue(plain)).toBe(false);
  });

  it('compares values without revealing them', () => {
    expect(secret.equals(SecretValue.from(plain))).toBe(true);
    expect(secret.equals(SecretValue.from(`${plain}x`))).toBe(false);
    expect(secret.equals(SecretValue.from(''))).toBe(false);
  });

  it('rejects a non-string at the boundary', () => {
    expect(() => SecretValue.from(42 as unknown as string)).toThrow(TypeError);
  });
});
