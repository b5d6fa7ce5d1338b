import { z } from 'zod';
import { Strategy } from '../../rotation/model.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import type { ConfigReading, Rotator } from '../../rotation/rotator.js';
import { Alphabet, CharacterClass, classOf, conforms, generateValue, type AlphabetName, type GenerateOptions } from './generate.js';

/** The random rotator's own tags. */
export const RandomTag = {
  /** Characters in the value; 16-4096, default 32. */
  Length: 'rotor-random-length',
  /** `alphanumeric` (default), `hex`, `base64url` or `ascii-printable`. */
  Alphabet: 'rotor-random-alphabet',
  /** Comma-separated classes the value must contain: `lower`, `upper`, `digit`, `symbol`. */
  Require: 'rotor-random-require',
} as const;

const classes = Object.values(CharacterClass);

const tagsSchema = z.looseObject({
  [RandomTag.Length]: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(16, 'must be at least 16').max(4096, 'must be at most 4096'))
    .default(32),
  [RandomTag.Alphabet]: z
    .enum(Object.keys(Alphabet) as [AlphabetName, ...AlphabetName[]], { error: `must be one of ${Object.keys(Alphabet).join(', ')}` })
    .default('alphanumeric'),
  [RandomTag.Require]: z
    .string()
    .transform((v) => v.split(',').map((c) => c.trim()).filter((c) => c !== ''))
    .pipe(z.array(z.enum(classes, { error: `must list classes from ${classes.join(', ')}` })))
    .default([]),
});

export function readRandomOptions(tags: Readonly<Record<string, string>>): ConfigReading<GenerateOptions> {
  const parsed = tagsSchema.safeParse(tags);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ tag: String(i.path[0]), message: i.message })) };
  const alphabet = Alphabet[parsed.data[RandomTag.Alphabet]];
  const require = [...new Set(parsed.data[RandomTag.Require])];
  const available = new Set([...alphabet].map(classOf));
  const missing = require.filter((c) => !available.has(c));
  if (missing.length > 0) {
    return { ok: false, problems: [{ tag: RandomTag.Require, message: `alphabet ${parsed.data[RandomTag.Alphabet]} has no ${missing.join(', ')} characters` }] };
  }
  return { ok: true, config: { length: parsed.data[RandomTag.Length], alphabet, require } };
}

/**
 * `random`: a generated value for secrets whose consumers only read the vault
 * (signing keys, shared API keys). There is no provider, so it maps onto the
 * `single` strategy without an `apply`: prepare generates, promote writes,
 * and nothing outside the vault changes, so continuity (I1) holds at every
 * boundary. Rollback is the engine's restore of the previous value; the
 * self-test checks the stored value has the shape the policy asks for.
 */
export function createRandomRotator(): Rotator<GenerateOptions> {
  return {
    kind: 'random',
    strategies: [Strategy.Single],
    readConfig: (policy) => readRandomOptions(policy.tags),
    prepare(context) {
      return Promise.resolve({ value: SecretValue.from(generateValue(context.config)) });
    },
    test(context, credential) {
      const ok = conforms(credential.reveal(), context.config);
      return Promise.resolve(ok ? { ok: true } : { ok: false, reason: 'the stored value does not have the length, alphabet or character classes the policy requires' });
    },
  };
}
