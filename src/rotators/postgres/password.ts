import { randomInt } from 'node:crypto';
import { SecretValue } from '../../secrecy/secret-value.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const ALPHABET = LOWER + UPPER + DIGITS;

/**
 * A new database password: 32 letters and digits (about 190 bits). No
 * punctuation, so it survives connection strings, URLs, shell variables and
 * `.pgpass` unquoted; every class present, so `passwordcheck`-style policies
 * accept it.
 */
export function generatePassword(length = 32): SecretValue {
  for (;;) {
    let text = '';
    for (let i = 0; i < length; i += 1) text += ALPHABET[randomInt(ALPHABET.length)];
    const hasAll = [LOWER, UPPER, DIGITS].every((set) => [...text].some((c) => set.includes(c)));
    if (hasAll) return SecretValue.from(text);
  }
}
