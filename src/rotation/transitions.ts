import { isTransientCode, RotationErrorCode } from './errors.js';
import { RotationStatus, StepName, Strategy } from './model.js';

/**
 * The step machine as a pure function: (where the rotation is, what the step
 * reported) → what happens next. No I/O, no clock, no randomness (jitter comes
 * in as a number), so every path is a table row in the tests.
 */

/** What a step reports back to the machine. */
export type StepOutcome =
  | { readonly kind: 'succeeded'; readonly detail?: string }
  /** begin only: stale trigger or another rotation active. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** begin only: the pre-flight health probe failed; nothing was written. */
  | { readonly kind: 'aborted'; readonly reason: string }
  /** verify: the credential or a consumer is not healthy (yet). */
  | { readonly kind: 'unhealthy'; readonly reason: string }
  /** `retryAfterMs`: the provider said when to come back (429 Retry-After); a retry waits at least that long. */
  | { readonly kind: 'failed'; readonly code: RotationErrorCode; readonly message: string; readonly retryAfterMs?: number };

/** The parts of the policy and rotator that shape the path. */
export interface StepPlan {
  readonly strategy: Strategy;
  /** The rotator has an `apply` (single strategy): a separate apply step runs before promote. */
  readonly hasApply: boolean;
  readonly graceMs: number;
  readonly revokeAfterMs?: number;
}

export interface BackoffSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

export interface TransitionInput {
  readonly status: RotationStatus;
  readonly step: StepName;
  readonly attempt: number;
  /** Undo records so far; non-empty means the world changed and a failure rolls back. */
  readonly undoCount: number;
  readonly plan: StepPlan;
  readonly outcome: StepOutcome;
  readonly maxAttempts: number;
  readonly backoff: BackoffSettings;
  /** Time left before the rotation's deadline; a retry that would land after it is not scheduled (I3). */
  readonly remainingMs: number;
  /** A number in [0, 1) for jitter. */
  readonly jitter: number;
}

export type Transition =
  | { readonly kind: 'advance'; readonly status: typeof RotationStatus.Running | typeof RotationStatus.RollingBack; readonly step: StepName; readonly delayMs: number; readonly reason?: string }
  | { readonly kind: 'retry'; readonly step: StepName; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'end'; readonly status: Exclude<RotationStatus, 'Running' | 'RollingBack'>; readonly reason?: string; readonly errorCode?: RotationErrorCode };

/** The step after `step` on the happy path, or `undefined` when the rotation is done. */
export function nextStep(step: StepName, plan: StepPlan): { readonly step: StepName; readonly delayMs: number } | undefined {
  switch (step) {
    case StepName.Begin:
      return { step: StepName.Prepare, delayMs: 0 };
    case StepName.Prepare:
      return plan.strategy === Strategy.Single && plan.hasApply ? { step: StepName.Apply, delayMs: 0 } : { step: StepName.Promote, delayMs: 0 };
    case StepName.Apply:
      return { step: StepName.Promote, delayMs: 0 };
    case StepName.Promote:
      return { step: StepName.Verify, delayMs: plan.graceMs };
    case StepName.Verify:
      return { step: StepName.Retire, delayMs: 0 };
    case StepName.Retire:
      return plan.revokeAfterMs === undefined ? undefined : { step: StepName.Revoke, delayMs: plan.revokeAfterMs };
    case StepName.Revoke:
    case StepName.Rollback:
      return undefined;
  }
}

/** Steps after which a failure rolls back; after verify the new credential stands, and failures need a human. */
function rollsBackOnFailure(step: StepName): boolean {
  switch (step) {
    case StepName.Prepare:
    case StepName.Apply:
    case StepName.Promote:
    case StepName.Verify:
      return true;
    case StepName.Begin:
    case StepName.Retire:
    case StepName.Revoke:
    case StepName.Rollback:
      return false;
  }
}

/** Exponential backoff with equal jitter: half fixed, half random, capped. */
export function backoffDelay(attempt: number, backoff: BackoffSettings, jitter: number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}

export function transition(input: TransitionInput): Transition {
  const { outcome } = input;
  switch (outcome.kind) {
    case 'succeeded': {
      if (input.step === StepName.Rollback) return { kind: 'end', status: RotationStatus.RolledBack };
      const next = nextStep(input.step, input.plan);
      if (next === undefined) return { kind: 'end', status: RotationStatus.Completed };
      return { kind: 'advance', status: input.status === RotationStatus.RollingBack ? RotationStatus.RollingBack : RotationStatus.Running, ...next };
    }
    case 'skipped':
      return { kind: 'end', status: RotationStatus.Skipped, reason: outcome.reason };
    case 'aborted':
      return { kind: 'end', status: RotationStatus.Aborted, reason: outcome.reason };
    case 'unhealthy':
      return retryOrGiveUp(input, RotationErrorCode.Unhealthy, outcome.reason, true);
    case 'failed':
      return retryOrGiveUp(input, outcome.code, outcome.message, isTransientCode(outcome.code), outcome.retryAfterMs);
  }
}

function retryOrGiveUp(input: TransitionInput, code: RotationErrorCode, message: string, retryable: boolean, retryAfterMs = 0): Transition {
  if (retryable) {
    const delayMs = Math.max(backoffDelay(input.attempt, input.backoff, input.jitter), retryAfterMs);
    if (input.attempt < input.maxAttempts && delayMs < input.remainingMs) {
      return { kind: 'retry', step: input.step, attempt: input.attempt + 1, delayMs, reason: `${code}: ${message}` };
    }
    const why = input.attempt >= input.maxAttempts ? `after ${input.attempt} attempts` : 'before the deadline';
    return giveUp(input, code === RotationErrorCode.Unhealthy ? code : RotationErrorCode.RetriesExhausted, `${input.step} did not succeed ${why}: ${message}`);
  }
  return giveUp(input, code, `${input.step}: ${message}`);
}

function giveUp(input: TransitionInput, code: RotationErrorCode, reason: string): Transition {
  if (input.step === StepName.Rollback) {
    return { kind: 'end', status: RotationStatus.Failed, reason: `rollback failed, the secret needs attention: ${reason}`, errorCode: code };
  }
  if (rollsBackOnFailure(input.step) && input.undoCount > 0) {
    return { kind: 'advance', status: RotationStatus.RollingBack, step: StepName.Rollback, delayMs: 0, reason: `${code}: ${reason}` };
  }
  return { kind: 'end', status: RotationStatus.Failed, reason: `${code}: ${reason}`, errorCode: code };
}
