import { z } from 'zod';
import { readConsumerPolicy } from '../consumers/policy.js';
import { rotatorProblems, type PolicyProblem, type Rotator, type RotatorRegistry } from './rotator.js';
import { readTiming } from '../schedule/timing.js';
import { durations, parseIsoDuration } from '../time/iso-duration.js';
import { RotationError, RotationErrorCode } from './errors.js';
import { Strategy } from './model.js';
import type { HealthProbeTarget, RotationPolicy } from './policy-types.js';

/** The policy tags an operator sets on a secret. */
export const PolicyTag = {
  Rotator: 'rotor-rotator',
  Target: 'rotor-target',
  Strategy: 'rotor-strategy',
  Validity: 'rotor-validity',
  Grace: 'rotor-grace',
  Health: 'rotor-health',
  RevokeAfter: 'rotor-revoke-after',
} as const;

/** Tags of Microsoft's Key Vault rotation samples, understood so such secrets need no retagging. */
export const SampleTag = {
  /** The active credential (`key1`): read as the current slot. */
  CredentialId: 'CredentialId',
  /** Resource id of the provider: read as the target, and names the rotator when `rotor-rotator` is absent. */
  ProviderAddress: 'ProviderAddress',
  ValidityPeriodDays: 'ValidityPeriodDays',
} as const;

/** Tags Rotor itself writes on the versions it creates; they are replaced, not carried forward. */
export const EngineTag = {
  Rotation: 'rotor-rotation',
  Slot: 'rotor-slot',
  /**
   * On a version promoted through a pending value: the companion's name. It says the companion
   * already holds Rotor's versions for this secret (checked by that promote), so the next
   * rotation's first promote need not read it to rule out a name collision. Optional: left out
   * when the version has no room for it (then the next promote reads).
   */
  Companion: 'rotor-pending-companion',
} as const;

/** Key Vault's limit on tags per version. */
export const MAX_TAGS = 15;

export const policyDefaults = {
  validityMs: 90 * durations.DAY,
  graceMs: 10 * durations.MINUTE,
  /** Key Vault's near-expiry horizon: a new version must outlive it, or it would trigger its own rotation (I7). */
  minValidityMs: 30 * durations.DAY,
} as const;

/**
 * Rotators named by the provider in a sample's `ProviderAddress` resource id.
 * Only providers Rotor has a rotator for are listed; anything else needs `rotor-rotator`.
 */
const rotatorByProvider: readonly { readonly pattern: RegExp; readonly rotator: string }[] = [
  { pattern: /\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+$/i, rotator: 'storage-account-key' },
  { pattern: /\/providers\/Microsoft\.EventGrid\/topics\/[^/]+$/i, rotator: 'eventgrid-topic-key' },
];

export type PolicyReading =
  /** No `rotor-rotator` (nor `ProviderAddress`): not Rotor's secret. */
  | { readonly kind: 'unmanaged' }
  | { readonly kind: 'invalid'; readonly problems: readonly PolicyProblem[] }
  | { readonly kind: 'valid'; readonly policy: RotationPolicy; readonly rotator: Rotator };

export interface ReadPolicyOptions {
  readonly rotators: RotatorRegistry;
  /** New versions must live longer than this; default 30 days (I7). */
  readonly minValidityMs?: number;
}

/** Is this secret Rotor's to rotate? True for a policy that is present, valid or not. */
export function isManaged(tags: Readonly<Record<string, string>>): boolean {
  return tags[PolicyTag.Rotator] !== undefined || tags[SampleTag.ProviderAddress] !== undefined;
}

const isoDurationTag = z
  .string()
  .trim()
  .refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO-8601 duration such as P90D or PT15M')
  .transform((v) => parseIsoDuration(v) as number);

/**
 * `rotor-health`: space-separated probe URLs, each optionally followed by
 * `=<status>` (default 200): `https://app/health https://api/ready=204`. A URL
 * whose own query ends in `=` and three digits needs its status spelled out.
 */
export function parseHealthTag(text: string): { readonly targets: readonly HealthProbeTarget[] } | { readonly problem: string } {
  const targets: HealthProbeTarget[] = [];
  for (const entry of text.trim().split(/\s+/).filter((e) => e !== '')) {
    const withStatus = /^(.*)=(\d{3})$/.exec(entry);
    const url = withStatus?.[1] ?? entry;
    const expectStatus = withStatus?.[2] === undefined ? 200 : Number(withStatus[2]);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { problem: `"${url}" is not a URL; write space-separated http(s) URLs, each optionally followed by =<status>` };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { problem: `"${url}" must be an http or https URL` };
    // fetch refuses such URLs (a TypeError at probe time); say it here, without echoing the credentials.
    if (parsed.username !== '' || parsed.password !== '') {
      return { problem: `"${parsed.protocol}//…@${parsed.host}${parsed.pathname}" carries user:password@; the probe sends no credentials, so use a health URL that needs none` };
    }
    if (expectStatus < 100 || expectStatus > 599) return { problem: `status ${expectStatus} of "${url}" is not an HTTP status` };
    targets.push({ url, expectStatus });
  }
  return { targets };
}

const tagsSchema = z.looseObject({
  [PolicyTag.Rotator]: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a rotator kind such as random or postgres (lowercase letters, digits, hyphens)')
    .optional(),
  [PolicyTag.Target]: z.string().trim().min(1, 'must not be empty').optional(),
  [PolicyTag.Strategy]: z.enum([Strategy.Alternating, Strategy.Single], { error: 'must be alternating or single' }).optional(),
  [PolicyTag.Validity]: isoDurationTag.optional(),
  [PolicyTag.Grace]: isoDurationTag.optional(),
  [PolicyTag.RevokeAfter]: isoDurationTag.optional(),
  [PolicyTag.Health]: z.string().optional(),
  [SampleTag.ValidityPeriodDays]: z
    .string()
    .trim()
    .regex(/^\d{1,5}$/, 'must be a whole number of days')
    .transform(Number)
    .optional(),
  [SampleTag.ProviderAddress]: z.string().trim().min(1, 'must not be empty').optional(),
});

/**
 * Reads a secret's policy from the tags of its current version. An invalid
 * policy lists every problem, each naming its tag, so the operator fixes them
 * in one go; nothing is written to the vault for it.
 */
export function readPolicy(tags: Readonly<Record<string, string>>, options: ReadPolicyOptions): PolicyReading {
  if (!isManaged(tags)) return { kind: 'unmanaged' };
  // Every problem at once: tags that fail their own format are reported and left out, and the checks go on with the rest.
  const problems: PolicyProblem[] = [];
  let parsed = tagsSchema.safeParse(tags);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => ({ tag: String(i.path[0] ?? '(tags)'), message: i.message })));
    const failing = new Set(problems.map((p) => p.tag));
    parsed = tagsSchema.safeParse(Object.fromEntries(Object.entries(tags).filter(([key]) => !failing.has(key))));
    if (!parsed.success) return { kind: 'invalid', problems };
  }
  const t = parsed.data;
  const failed = new Set(problems.map((p) => p.tag));

  const rotatorKind = t[PolicyTag.Rotator] ?? rotatorForProvider(t[SampleTag.ProviderAddress]);
  if (rotatorKind === undefined) {
    if (!failed.has(PolicyTag.Rotator)) {
      problems.push({ tag: PolicyTag.Rotator, message: `is required: ${SampleTag.ProviderAddress} names no provider Rotor has a rotator for` });
    }
    return { kind: 'invalid', problems };
  }
  const rotator = options.rotators.get(rotatorKind);
  if (rotator === undefined) {
    const known = [...options.rotators.keys()].sort().join(', ');
    problems.push({ tag: PolicyTag.Rotator, message: `names no known rotator "${rotatorKind}" (known: ${known})` });
  }

  const strategy = t[PolicyTag.Strategy] ?? rotator?.strategies[0];
  if (rotator !== undefined && (strategy === undefined || !rotator.strategies.includes(strategy))) {
    problems.push({ tag: PolicyTag.Strategy, message: `rotator ${rotator.kind} supports ${rotator.strategies.join(' or ')}, not ${String(strategy)}` });
  }

  const minValidityMs = options.minValidityMs ?? policyDefaults.minValidityMs;
  const validityTag = t[PolicyTag.Validity] !== undefined ? PolicyTag.Validity : SampleTag.ValidityPeriodDays;
  const sampleDays = t[SampleTag.ValidityPeriodDays];
  const validityMs = t[PolicyTag.Validity] ?? (sampleDays === undefined ? policyDefaults.validityMs : sampleDays * durations.DAY);
  if (validityMs <= minValidityMs && !failed.has(validityTag)) {
    problems.push({
      tag: validityTag,
      message: `must exceed ${minValidityMs / durations.DAY} days, or every new version would be near expiry at once and rotate itself`,
    });
  }

  const graceMs = t[PolicyTag.Grace] ?? policyDefaults.graceMs;
  if (graceMs >= validityMs && !failed.has(PolicyTag.Grace) && !failed.has(validityTag)) problems.push({ tag: PolicyTag.Grace, message: 'must be shorter than the validity' });

  let health: readonly HealthProbeTarget[] = [];
  const healthTag = t[PolicyTag.Health];
  if (healthTag !== undefined) {
    const reading = parseHealthTag(healthTag);
    if ('problem' in reading) problems.push({ tag: PolicyTag.Health, message: reading.problem });
    else health = reading.targets;
  }

  const revokeAfterMs = t[PolicyTag.RevokeAfter];
  if (revokeAfterMs !== undefined && rotator !== undefined && rotator.revoke === undefined) {
    problems.push({ tag: PolicyTag.RevokeAfter, message: `rotator ${rotator.kind} cannot revoke credentials; remove the tag` });
  }

  // When it may rotate (rotor-schedule, rotor-window, rotor-paused): read where used, from policy.tags.
  const timing = readTiming(tags);
  if (!timing.ok) problems.push(...timing.problems);

  const target = t[PolicyTag.Target] ?? t[SampleTag.ProviderAddress];
  const tagCount = Object.keys(carriedTags(tags)).length + engineTagCount(strategy ?? Strategy.Single);
  if (tagCount > MAX_TAGS) {
    problems.push({
      tag: '(tags)',
      message: `Rotor adds its own tags (${Object.values(EngineTag).join(', ')}) to each version it writes; with them this secret would carry ${tagCount} tags and Key Vault allows ${MAX_TAGS}: remove ${tagCount - MAX_TAGS}`,
    });
  }
  const consumers = readConsumerPolicy(tags, graceMs);
  if ('problems' in consumers) problems.push(...consumers.problems);
  if (problems.length > 0 || rotator === undefined) return { kind: 'invalid', problems };

  const policy: RotationPolicy = {
    rotator: rotator.kind,
    ...(target === undefined ? {} : { target }),
    strategy: strategy as Strategy,
    validityMs,
    graceMs,
    health,
    ...(revokeAfterMs === undefined ? {} : { revokeAfterMs }),
    ...('policy' in consumers ? { adoptionTimeoutMs: consumers.policy.adoptionTimeoutMs } : {}),
    tags: { ...tags },
  };
  const ownProblems = rotatorProblems(rotator, policy);
  if (ownProblems.length > 0) return { kind: 'invalid', problems: ownProblems };
  return { kind: 'valid', policy, rotator };
}

function rotatorForProvider(providerAddress: string | undefined): string | undefined {
  if (providerAddress === undefined) return undefined;
  return rotatorByProvider.find((entry) => entry.pattern.test(providerAddress))?.rotator;
}

/** The tags a new version inherits (I6): everything but the engine's own. */
export function carriedTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  const engineTags: ReadonlySet<string> = new Set(Object.values(EngineTag));
  return Object.fromEntries(Object.entries(tags).filter(([key]) => !engineTags.has(key)));
}

function engineTagCount(strategy: Strategy): number {
  return strategy === Strategy.Alternating ? 2 : 1;
}

/**
 * Tags of a version Rotor writes: the policy carried forward plus the engine's
 * tags. On alternating secrets set up for Microsoft's samples, `CredentialId`
 * follows the active slot too, so the sample's own function would still work.
 */
export function tagsForNewVersion(
  previousTags: Readonly<Record<string, string>>,
  engine: { readonly rotationId: string; readonly slot?: string },
): Record<string, string> {
  const tags: Record<string, string> = { ...carriedTags(previousTags), [EngineTag.Rotation]: engine.rotationId };
  if (engine.slot !== undefined) {
    tags[EngineTag.Slot] = engine.slot;
    if (tags[SampleTag.CredentialId] !== undefined) tags[SampleTag.CredentialId] = engine.slot;
  }
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new RotationError(
      RotationErrorCode.TagLimitExceeded,
      `Key Vault allows ${MAX_TAGS} tags per version; carrying the policy forward would need ${Object.keys(tags).length}`,
    );
  }
  return tags;
}

/** The slot the current value belongs to: the engine's tag, or a sample's `CredentialId`. */
export function currentSlot(tags: Readonly<Record<string, string>>): string | undefined {
  return tags[EngineTag.Slot] ?? tags[SampleTag.CredentialId];
}
