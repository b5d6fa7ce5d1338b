import type { Logger } from '../observability/logger.js';
import type { RotatorRegistry } from './rotator.js';
import { durations } from '../time/iso-duration.js';
import type { CancelRotation } from './cancel-types.js';
import type { Rotation } from './model.js';
import { policyDefaults } from './policy.js';
import type { Clock, HealthProbe, Notifier, RotationLedger, SecretStore, StepMessage, StepQueue } from './ports.js';
import type { StartRotation } from './start-types.js';
import type { StepPorts } from './steps/index.js';
import type { BackoffSettings } from './transitions.js';

/** The engine's settings, what it is built from, and what it offers (the interpreter itself: ./engine.ts). */

export interface EngineSettings {
  /** Attempts of one step on transient errors (and of verify on unhealthy answers). */
  readonly maxStepAttempts: number;
  /** Retry delays: base doubling per attempt, capped, with jitter. Tests use milliseconds. */
  readonly backoff: BackoffSettings;
  /** Time a rotation may take beyond its grace period and revoke-after, before it is ended (I3). */
  readonly rotationBudgetMs: number;
  /** A lock whose holder never created its record (a crash in between) is broken after this. */
  readonly orphanLockMs: number;
  /** New versions must expire later than this (I7): the near-expiry horizon. */
  readonly minValidityMs: number;
  /** A rolled-back secret's restored version expires this long after the horizon, so the next try is that far away. */
  readonly rollbackRetryAfterMs: number;
  /** Triggers for the same secret version within one such window share a rotation id. */
  readonly duplicateWindowMs: number;
}

export const defaultEngineSettings: EngineSettings = {
  maxStepAttempts: 8,
  backoff: { baseMs: 2 * durations.SECOND, maxMs: 5 * durations.MINUTE },
  rotationBudgetMs: 2 * durations.HOUR,
  orphanLockMs: 10 * durations.MINUTE,
  minValidityMs: policyDefaults.minValidityMs,
  rollbackRetryAfterMs: durations.DAY,
  duplicateWindowMs: durations.HOUR,
};

export interface RotationEngineDeps {
  readonly secretStore: SecretStore;
  readonly stepQueue: StepQueue;
  readonly ledger: RotationLedger;
  readonly notifier: Notifier;
  readonly healthProbe: HealthProbe;
  readonly rotators: RotatorRegistry;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly settings?: Partial<EngineSettings>;
  /** Source of jitter in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
  /** Declared consumers: nudged after promote, their adoption awaited in verify (src/consumers/). */
  readonly consumers?: StepPorts['consumers'];
}

export type StepHandling =
  /** The step ran and its outcome is recorded. */
  | { readonly result: 'ran'; readonly rotation: Rotation }
  /** The ledger is past this message (a redelivery or an older attempt): the current message was sent again, nothing else. */
  | { readonly result: 'stale'; readonly rotation: Rotation }
  | { readonly result: 'already-ended'; readonly rotation: Rotation }
  | { readonly result: 'unknown-rotation' };

/** What the platform says about one delivery of a step message. */
export interface StepDelivery {
  /**
   * True only for the first delivery of the only copy: Service Bus `deliveryCount` 1 and not a
   * scheduled copy sent after ledger trouble (src/queue/step-redelivery.ts). With attempt 1 it
   * proves the step has not run before for this rotation (a copy the sweep or a stale message
   * sends again has the same message id and is dropped by duplicate detection).
   */
  readonly first: boolean;
}

export interface RotationEngine {
  readonly startRotation: StartRotation;
  /**
   * Runs the step a message names. Throws only when the ledger or queue fails; the message is then redelivered.
   * `delivery`: what the trigger says about this delivery; absent means unknown (treated as a possible replay).
   */
  handleStep(message: StepMessage, delivery?: StepDelivery): Promise<StepHandling>;
  /** Sends the current step's message again (the sweep, for rotations past their deadline or whose message was lost). */
  resumeRotation(rotationId: string): Promise<'resent' | 'ended' | 'not-found'>;
  /**
   * For the dead-letter handler: a message that could not be processed ends its
   * rotation as a permanent failure of its step would (the machine's table:
   * rollback up to verify when the world changed, Failed otherwise, and never a
   * rollback after verify). A message the ledger is already past is ignored.
   */
  failRotation(message: StepMessage, reason: string): Promise<'rolling-back' | 'failed' | 'ignored'>;
  /** An operator's cancel (see `cancel-types.ts`); the machine decides, this only loads and commits. */
  readonly cancelRotation: CancelRotation;
}

