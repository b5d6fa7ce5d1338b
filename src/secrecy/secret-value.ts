import { timingSafeEqual, createHash } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * A secret value in transit (invariant I5). Every way a value is usually
 * turned into text — `String()`, template literals, `JSON.stringify`,
 * `console.log`/`util.inspect`, error messages — prints a redaction. The one
 * way out is `reveal()`, named so that a search finds every place that needs it
 * (the SDK call that stores it, the provider call that sets it).
 */
export class SecretValue {
  readonly #value: string;

  private constructor(value: string) {
    this.#value = value;
  }

  static from(value: string): SecretValue {
    if (typeof value !== 'string') throw new TypeError('SecretValue.from expects a string');
    return new SecretValue(value);
  }

  /** The plain value, for the one call that must send it somewhere. */
  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  /** Constant-time comparison, so a comparison cannot leak a prefix through timing. */
  equals(other: SecretValue): boolean {
    const a = createHash('sha256').update(this.#value).digest();
    const b = createHash('sha256').update(other.#value).digest();
    return timingSafeEqual(a, b) && this.#value.length === other.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretValue(${REDACTED})`;
  }
}

export function isSecretValue(value: unknown): value is SecretValue {
  return value instanceof SecretValue;
}
