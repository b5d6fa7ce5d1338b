import { durations, parseIsoDuration } from '../time/iso-duration.js';
import { parseConsumersTag, type ConsumerEntry } from './entries.js';

/** The consumer tags an operator sets on a secret (beside the `rotor-*` policy tags). */
export const ConsumerTag = {
  /** Space-separated consumer entries (src/consumers/entries.ts). */
  Consumers: 'rotor-consumers',
  /** ISO-8601 duration: how long verify waits for every declared consumer to adopt the promoted version. */
  AdoptionTimeout: 'rotor-adoption-timeout',
} as const;

export const adoptionTimeoutBounds = {
  /** Below this a refresh or restart cannot finish, on Azure or locally. */
  minMs: 5 * durations.SECOND,
  /** Longer than a day and the old credential has outlived any cache a consumer could have. */
  maxMs: durations.DAY,
  /** The default never goes below this, however short the grace: an App Service refresh takes seconds to tens of seconds. */
  floorMs: durations.MINUTE,
} as const;

/**
 * Default adoption timeout: the grace period (the consumers' cache TTL, after
 * which even a consumer that ignores the nudge has re-read the secret), but at
 * least a minute.
 */
export function defaultAdoptionTimeoutMs(graceMs: number): number {
  return Math.min(Math.max(graceMs, adoptionTimeoutBounds.floorMs), adoptionTimeoutBounds.maxMs);
}

export interface ConsumerPolicy {
  /** Consumers declared in the `rotor-consumers` tag (the registry adds its own at nudge time). */
  readonly consumers: readonly ConsumerEntry[];
  readonly adoptionTimeoutMs: number;
}

export interface ConsumerPolicyProblem {
  readonly tag: string;
  readonly message: string;
}

export type ConsumerPolicyReading = { readonly policy: ConsumerPolicy } | { readonly problems: readonly ConsumerPolicyProblem[] };

/** Reads `rotor-consumers` and `rotor-adoption-timeout`; every problem names its tag. */
export function readConsumerPolicy(tags: Readonly<Record<string, string>>, graceMs: number): ConsumerPolicyReading {
  const problems: ConsumerPolicyProblem[] = [];
  let consumers: readonly ConsumerEntry[] = [];
  const consumersTag = tags[ConsumerTag.Consumers];
  if (consumersTag !== undefined) {
    const reading = parseConsumersTag(consumersTag);
    if ('problems' in reading) problems.push(...reading.problems.map((message) => ({ tag: ConsumerTag.Consumers, message })));
    else consumers = reading.entries;
  }

  let adoptionTimeoutMs = defaultAdoptionTimeoutMs(graceMs);
  const timeoutTag = tags[ConsumerTag.AdoptionTimeout];
  if (timeoutTag !== undefined) {
    const parsed = parseIsoDuration(timeoutTag);
    if (parsed === undefined) {
      problems.push({ tag: ConsumerTag.AdoptionTimeout, message: 'must be an ISO-8601 duration such as PT10M or PT1H' });
    } else if (parsed < adoptionTimeoutBounds.minMs) {
      problems.push({ tag: ConsumerTag.AdoptionTimeout, message: `must be at least ${adoptionTimeoutBounds.minMs / durations.SECOND} seconds (PT5S): a refresh or restart needs that long` });
    } else if (parsed > adoptionTimeoutBounds.maxMs) {
      problems.push({ tag: ConsumerTag.AdoptionTimeout, message: 'must be at most one day (P1D): by then every cache has expired, and the rotation would hold its lock that long' });
    } else {
      adoptionTimeoutMs = parsed;
    }
  }
  return problems.length > 0 ? { problems } : { policy: { consumers, adoptionTimeoutMs } };
}
