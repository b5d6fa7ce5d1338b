export const Strategy = {
  /** Two credentials at the provider; the inactive one is regenerated. */
  Alternating: 'alternating',
  /** One credential; the new value is pending until applied, then promoted. */
  Single: 'single',
} as const;
export type Strategy = (typeof Strategy)[keyof typeof Strategy];

/** An HTTP health probe of a consuming application. */
export interface HealthProbeTarget {
  readonly url: string;
  /** Status that counts as healthy (default 200). */
  readonly expectStatus: number;
}

/**
 * A secret's rotation policy, parsed from its tags (`rotor-*`, or the tags of
 * Microsoft's rotation samples). The raw tags are kept because rotators read
 * their own keys (`rotor-pg-admin-secret`, `rotor-sas-permissions`, ...) and
 * because every version Rotor writes carries them forward (I6).
 */
export interface RotationPolicy {
  /** Which rotator: `random`, `postgres`, `storage-account-key`, ... */
  readonly rotator: string;
  /** What to rotate at the provider (a role, a key name, an app id); never a password. */
  readonly target?: string;
  readonly strategy: Strategy;
  /** Lifetime of a new version: `expiresOn = now + validity`. Over 30 days (I7). */
  readonly validityMs: number;
  /** Wait between promote and verify: the consumers' cache TTL. */
  readonly graceMs: number;
  readonly health: readonly HealthProbeTarget[];
  /** When set, the superseded credential is revoked at the provider this long after Completed. */
  readonly revokeAfterMs?: number;
  /** Every tag of the version the policy was read from. */
  readonly tags: Readonly<Record<string, string>>;
}
