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
  /**
   * verify: declared consumers have not all adopted the promoted version yet;
   * poll again with backoff, at most `maxDelayMs` from now (the adoption
   * deadline). Bounded by that deadline, not by the step's attempts.
   */
  | { readonly kind: 'waiting'; readonly reason: string; readonly maxDelayMs: number }
  /**
   * Key Vault refused a call for its budget (a 429, or Rotor's own pacing):
   * the same step again after `retryAfterMs` (the store's `notBefore`), which
   * does not count against the attempts; bounded by the rotation's deadline.
   */
  | { readonly kind: 'throttled'; readonly reason: string; readonly retryAfterMs: number }
  /**
   * `retryAfterMs`: the provider said when to come back (429 Retry-After); a retry waits at least that long.
   * `unchanged`: the step failed before it changed anything (promote: the rotator's prepare failed, and no
   * earlier attempt left a version or a pending value, or promote would not have called it): giving up ends
   * Failed rather than rolling back what was never done.
   */
  | { readonly kind: 'failed'; readonly code: RotationErrorCode; readonly message: string; readonly retryAfterMs?: number; readonly unchanged?: boolean };

/** The parts of the policy and rotator that shape the path. */
export interface StepPlan {
  readonly strategy: Strategy;
  /** The rotator has an `apply` (single strategy): a separate apply step runs before promote. */
  readonly hasApply: boolean;
  /**
   * begin → promote: promote calls the rotator's prepare (and apply) itself
   * and writes the new version (steps/promote.ts), so there are no prepare
   * and apply steps. Without it (a rotation that began under the older plan)
   * prepare and apply run as steps of their own.
   */
  readonly direct?: boolean;
  readonly graceMs: number;
  readonly revokeAfterMs?: number;
  /**
   * Every declared consumer reports its version (none is a Container App), and
   * there is at least one: verify starts polling at once instead of waiting
   * the grace period, and passes as soon as all have adopted.
   */
  readonly consumersReport?: boolean;
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
  /** `waiting` outcomes of this step so far: they are polls, not failed attempts. */
  readonly waits?: number;
  /** `throttled` outcomes of this step so far: the vault's budget, not failed attempts. */
  readonly throttles?: number;
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
      return { step: plan.direct === true ? StepName.Promote : StepName.Prepare, delayMs: 0 };
    case StepName.Prepare:
      return plan.strategy === Strategy.Single && plan.hasApply ? { step: StepName.Apply, delayMs: 0 } : { step: StepName.Promote, delayMs: 0 };
    case StepName.Apply:
      return { step: StepName.Promote, delayMs: 0 };
    case StepName.Promote:
      return { step: StepName.Nudge, delayMs: 0 };
    case StepName.Nudge:
      return { step: StepName.Verify, delayMs: plan.consumersReport === true ? 0 : plan.graceMs };
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
    case StepName.Nudge:
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
    case 'waiting': {
      const waits = input.waits ?? 0;
      const delayMs = Math.min(backoffDelay(waits + 1, { baseMs: input.backoff.baseMs, maxMs: Math.min(input.backoff.maxMs, MAX_ADOPTION_POLL_MS) }, input.jitter), Math.max(0, outcome.maxDelayMs));
      if (delayMs < input.remainingMs) return { kind: 'retry', step: input.step, attempt: input.attempt + 1, delayMs, reason: outcome.reason };
      return giveUp(input, RotationErrorCode.DeadlineExceeded, `${input.step} could not wait any longer before the deadline: ${outcome.reason}`);
    }
    case 'throttled': {
      const delayMs = Math.max(0, Math.ceil(outcome.retryAfterMs));
      if (delayMs < input.remainingMs) return { kind: 'retry', step: input.step, attempt: input.attempt + 1, delayMs, reason: `${RotationErrorCode.VaultThrottled}: ${outcome.reason}` };
      return giveUp(input, RotationErrorCode.DeadlineExceeded, `${input.step} was throttled by Key Vault until after the deadline: ${outcome.reason}`);
    }
    case 'failed':
      return retryOrGiveUp(input, outcome.code, outcome.message, isTransientCode(outcome.code), outcome.retryAfterMs);
  }
}

/** Adoption is polled at least this often, so verify passes soon after the last consumer moves. */
export const MAX_ADOPTION_POLL_MS = 30_000;

function retryOrGiveUp(input: TransitionInput, code: RotationErrorCode, message: string, retryable: boolean, retryAfterMs = 0): Transition {
  if (retryable) {
    // Polls for adoption and throttled tries are not failed attempts: only real tries count against the bound.
    const tries = input.attempt - (input.waits ?? 0) - (input.throttles ?? 0);
    const delayMs = Math.max(backoffDelay(tries, input.backoff, input.jitter), retryAfterMs);
    if (tries < input.maxAttempts && delayMs < input.remainingMs) {
      return { kind: 'retry', step: input.step, attempt: input.attempt + 1, delayMs, reason: `${code}: ${message}` };
    }
    const why = tries >= input.maxAttempts ? `after ${tries} attempts` : 'before the deadline';
    return giveUp(input, code === RotationErrorCode.Unhealthy ? code : RotationErrorCode.RetriesExhausted, `${input.step} did not succeed ${why}: ${message}`);
  }
  return giveUp(input, code, `${input.step}: ${message}`);
}

function giveUp(input: TransitionInput, code: RotationErrorCode, reason: string): Transition {
  if (input.step === StepName.Rollback) {
    return { kind: 'end', status: RotationStatus.Failed, reason: `rollback failed, the secret needs attention: ${reason}`, errorCode: code };
  }
  // apply and promote may have half happened (a crash after the call): rollback undoes them even with nothing on the stack yet,
  // unless the step says it failed before changing anything.
  const unchanged = input.outcome.kind === 'failed' && input.outcome.unchanged === true;
  const mayHaveChanged = input.undoCount > 0 || (!unchanged && (input.step === StepName.Apply || input.step === StepName.Promote));
  if (rollsBackOnFailure(input.step) && mayHaveChanged) {
    return { kind: 'advance', status: RotationStatus.RollingBack, step: StepName.Rollback, delayMs: 0, reason: `${code}: ${reason}` };
  }
  return { kind: 'end', status: RotationStatus.Failed, reason: `${code}: ${reason}`, errorCode: code };
}
