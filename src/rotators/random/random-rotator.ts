import { z } from 'zod';
import { Strategy } from '../../rotation/model.js';
import type { RotationPolicy } from '../../rotation/policy-types.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import type { PolicyProblem, Rotator } from '../../rotation/rotator.js';
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

type ReadOptions = { readonly ok: true; readonly options: GenerateOptions } | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

export function readRandomOptions(tags: Readonly<Record<string, string>>): ReadOptions {
  const parsed = tagsSchema.safeParse(tags);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => ({ tag: String(i.path[0]), message: i.message })) };
  const alphabet = Alphabet[parsed.data[RandomTag.Alphabet]];
  const require = [...new Set(parsed.data[RandomTag.Require])];
  const available = new Set([...alphabet].map(classOf));
  const missing = require.filter((c) => !available.has(c));
  if (missing.length > 0) {
    return { ok: false, problems: [{ tag: RandomTag.Require, message: `alphabet ${parsed.data[RandomTag.Alphabet]} has no ${missing.join(', ')} characters` }] };
  }
  return { ok: true, options: { length: parsed.data[RandomTag.Length], alphabet, require } };
}

function optionsOf(policy: RotationPolicy): GenerateOptions {
  const reading = readRandomOptions(policy.tags);
  if (!reading.ok) throw new RotatorError(RotatorErrorCode.InvalidConfiguration, reading.problems.map((p) => `${p.tag}: ${p.message}`).join('; '));
  return reading.options;
}

/**
 * `random`: a generated value for secrets whose consumers only read the vault
 * (signing keys, shared API keys). There is no provider, so it maps onto the
 * `single` strategy without an `apply`: prepare generates, promote writes,
 * and nothing outside the vault changes, so continuity (I1) holds at every
 * boundary. Rollback is the engine's restore of the previous value; the
 * self-test checks the stored value has the shape the policy asks for.
 */
export function createRandomRotator(): Rotator {
  return {
    kind: 'random',
    strategies: [Strategy.Single],
    validate(policy) {
      const reading = readRandomOptions(policy.tags);
      return reading.ok ? [] : reading.problems;
    },
    prepare(context) {
      return Promise.resolve({ value: SecretValue.from(generateValue(optionsOf(context.policy))) });
    },
    test(context, credential) {
      const ok = conforms(credential.reveal(), optionsOf(context.policy));
      return Promise.resolve(ok ? { ok: true } : { ok: false, reason: 'the stored value does not have the length, alphabet or character classes the policy requires' });
    },
  };
}
