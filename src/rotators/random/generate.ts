import { randomInt } from 'node:crypto';

export const CharacterClass = {
  Lower: 'lower',
  Upper: 'upper',
  Digit: 'digit',
  Symbol: 'symbol',
} as const;
export type CharacterClass = (typeof CharacterClass)[keyof typeof CharacterClass];

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** Printable ASCII punctuation (33-126 minus letters and digits). */
const SYMBOLS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

export const Alphabet = {
  alphanumeric: `${UPPER}${LOWER}${DIGITS}`,
  hex: '0123456789abcdef',
  base64url: `${UPPER}${LOWER}${DIGITS}-_`,
  'ascii-printable': `${UPPER}${LOWER}${DIGITS}${SYMBOLS}`,
} as const;
export type AlphabetName = keyof typeof Alphabet;

export function classOf(char: string): CharacterClass {
  if (LOWER.includes(char)) return CharacterClass.Lower;
  if (UPPER.includes(char)) return CharacterClass.Upper;
  if (DIGITS.includes(char)) return CharacterClass.Digit;
  return CharacterClass.Symbol;
}

export interface GenerateOptions {
  readonly length: number;
  readonly alphabet: string;
  readonly require: readonly CharacterClass[];
}

/** Does `value` have the length, use only the alphabet and contain every required class? */
export function conforms(value: string, options: GenerateOptions): boolean {
  if (value.length !== options.length) return false;
  if ([...value].some((c) => !options.alphabet.includes(c))) return false;
  const present = new Set([...value].map(classOf));
  return options.require.every((c) => present.has(c));
}

const MAX_DRAWS = 10_000;

/**
 * A uniformly random string over the alphabet, conditioned on containing every
 * required class. Each character is `crypto.randomInt`, which rejects rather
 * than taking a modulo, so no character is favoured; a value missing a class is
 * thrown away whole and drawn again (placing the required characters first
 * would make some positions predictable).
 */
export function generateValue(options: GenerateOptions): string {
  for (let draw = 0; draw < MAX_DRAWS; draw += 1) {
    let value = '';
    for (let i = 0; i < options.length; i += 1) value += options.alphabet[randomInt(options.alphabet.length)];
    if (conforms(value, options)) return value;
  }
  throw new Error(`no value of length ${options.length} with classes ${options.require.join(', ')} after ${MAX_DRAWS} draws`);
}
