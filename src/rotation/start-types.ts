import type { SecretRef } from '../keyvault/secret-ref.js';
import type { PolicyProblem } from './rotator.js';
import type { RotationTrigger } from './model.js';

/**
 * `startRotation(secret, trigger, options)`: the one entry the intake, the
 * HTTP API, the sweep and the tests use. It checks what can be answered at
 * once (secret exists, policy valid, no rotation active) and enqueues `begin`;
 * `begin` checks again under the lock, so the early answer is a courtesy and
 * the lock is the guarantee (I2).
 *
 * Event and sweep triggers carry the version they are about; their rotation id
 * is derived from (vault, secret, version), so duplicate deliveries and an
 * event racing the sweep start one rotation, not two.
 */
export interface StartRotationOptions {
  /** Run `begin` and the pre-flight checks only; report what would happen. */
  readonly dryRun?: boolean;
  /** A manual start of a paused secret (`rotor-paused=true`); without it the answer is `paused`. */
  readonly force?: boolean;
  /** Begin no earlier than this (a paced batch); a window may move it later still. */
  readonly notBefore?: Date;
}

export type StartRotationResult =
  /** `startAt` (ISO-8601): begin is scheduled for then (outside the maintenance window, or paced); absent: at once. */
  | { readonly outcome: 'started'; readonly rotationId: string; readonly startAt?: string }
  /** The same trigger already started this rotation (duplicate event, event racing the sweep). */
  | { readonly outcome: 'duplicate'; readonly rotationId: string }
  /** Another rotation holds the secret's lock. */
  | { readonly outcome: 'busy'; readonly activeRotationId: string }
  | { readonly outcome: 'not-found' }
  /** No `rotor-rotator` tag (or sample equivalent): not Rotor's to rotate. */
  | { readonly outcome: 'not-managed' }
  | { readonly outcome: 'invalid-policy'; readonly problems: readonly PolicyProblem[] }
  /** The trigger's version is no longer the latest: already rotated. */
  | { readonly outcome: 'stale'; readonly latestVersion: string }
  /** `rotor-paused=true`: nothing automatic starts, and a manual start needs `force`. */
  | { readonly outcome: 'paused' }
  | { readonly outcome: 'dry-run'; readonly report: DryRunReport };

export interface DryRunReport {
  readonly secret: SecretRef;
  readonly currentVersion: string;
  readonly rotator: string;
  readonly strategy: string;
  readonly wouldRotate: boolean;
  /** Why not, or what would happen: `prepare slot key2, promote, verify after PT10M`. */
  readonly summary: string;
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail?: string }[];
}

export type StartRotation = (
  secret: SecretRef,
  trigger: RotationTrigger,
  options?: StartRotationOptions,
) => Promise<StartRotationResult>;
