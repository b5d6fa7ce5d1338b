import { RotationErrorCode } from './errors.js';
import { isTerminal, RotationStatus, StepName, Strategy, UndoAction, type AdoptionRecord, type Rotation, type RotationCancel, type StepRecord, type UndoRecord } from './model.js';
import { policyDefaults } from './policy.js';
import type { RotationPolicy } from './policy-types.js';
import { auditTrailOf } from '../ledger/audit-trail.js';
import { NotificationType, type AuditEntry, type RotationNotification, type StepMessage } from './ports.js';
import { transition, type BackoffSettings, type StepOutcome, type StepPlan, type Transition } from './transitions.js';

/**
 * The rotation machine as one pure function:
 * `advance(rotation, event, now, jitter, rules) → { rotation, effects }`.
 *
 * Every decision about a rotation's record lives here: where it goes after a
 * step (the transition table), the step history and undo stack, the deadline,
 * "undo if attempted", the dead-letter decision and which notifications go
 * out. The engine only interprets: it loads the record, runs the step, calls
 * `advance`, persists the new record (the commit point) and then performs the
 * effects in order. No I/O, no clock, no randomness here, so every
 * (status, step, event) is a row of one table test.
 */

/** Fields a step sets on the rotation record. */
export type RotationPatch = Partial<Pick<Rotation, 'versions' | 'slots' | 'policy' | 'prepared' | 'rotator' | 'strategy' | 'deadline' | 'undo' | 'adoption'>>;

export type MachineEvent =
  /** The current step ran; `patch` and `undo` count only when it succeeded. */
  | { readonly kind: 'step-finished'; readonly startedAt: string; readonly outcome: StepOutcome; readonly patch?: RotationPatch; readonly undo?: UndoRecord }
  /** Service Bus gave up on the message for (`step`, `attempt`). */
  | { readonly kind: 'dead-lettered'; readonly step: StepName; readonly attempt: number; readonly reason: string }
  /** The current message arrived after the rotation's deadline (see `isPastDeadline`). */
  | { readonly kind: 'deadline-passed' }
  /** A message the record is past arrived (a redelivery, an older attempt, or any message of an ended rotation). */
  | { readonly kind: 'message-not-current'; readonly step: StepName; readonly attempt: number }
  /** The sweep or an operator asked the rotation to go on. */
  | { readonly kind: 'resumed' }
  /** An operator asked to cancel it (`POST /api/rotations/{id}/cancel`). */
  | { readonly kind: 'cancel-requested'; readonly reason?: string };

export type Effect =
  /** Send the step's message; `notBefore` (ISO-8601) schedules it, absent means at once. */
  | { readonly kind: 'send-step'; readonly message: StepMessage; readonly notBefore?: string }
  | { readonly kind: 'release-lock'; readonly rotationId: string; readonly secret: Rotation['secret'] }
  /** Best effort: a notification that cannot be sent never fails the rotation. */
  | { readonly kind: 'notify'; readonly notification: RotationNotification }
  /**
   * The rotation's history to the audit trail, in one append, once it has ended and before its lock goes
   * (the record holds every step meanwhile; `auditTrailOf`). Best effort, as a notification is.
   */
  | { readonly kind: 'audit'; readonly entries: readonly AuditEntry[] };

export interface Advanced {
  /** The same object as the input when nothing changed (then there is nothing to persist). */
  readonly rotation: Rotation;
  readonly effects: readonly Effect[];
}

/** The settings and facts about rotators that shape the path; fixed for a running engine. */
export interface MachineRules {
  readonly maxStepAttempts: number;
  readonly backoff: BackoffSettings;
  /** Time a rotation may take beyond its grace period and revoke-after (I3). */
  readonly rotationBudgetMs: number;
  /** Whether the named rotator has an `apply` (single strategy: a separate apply step runs before promote). */
  readonly hasApply: (rotator: string) => boolean;
  /** Whether rotations of the named rotator and strategy skip the prepare and apply steps: promote does them (`StepPlan.direct`). */
  readonly writesDirectly?: (rotator: string, strategy: Strategy) => boolean;
}

export function deadlineFor(startMs: number, policy: RotationPolicy | undefined, rules: Pick<MachineRules, 'rotationBudgetMs'>): string {
  // Verify waits the grace or the adoption timeout, whichever is longer.
  const waitMs = Math.max(policy?.graceMs ?? policyDefaults.graceMs, policy?.adoptionTimeoutMs ?? 0);
  return new Date(startMs + rules.rotationBudgetMs + waitMs + (policy?.revokeAfterMs ?? 0)).toISOString();
}

export function planOf(policy: RotationPolicy | undefined, rules: Pick<MachineRules, 'hasApply' | 'writesDirectly'>, adoption?: AdoptionRecord): StepPlan {
  const consumers = adoption?.consumers ?? [];
  return {
    strategy: policy?.strategy ?? Strategy.Single,
    hasApply: policy === undefined ? false : rules.hasApply(policy.rotator),
    ...(policy !== undefined && rules.writesDirectly?.(policy.rotator, policy.strategy) === true ? { direct: true } : {}),
    graceMs: policy?.graceMs ?? 0,
    ...(policy?.revokeAfterMs === undefined ? {} : { revokeAfterMs: policy.revokeAfterMs }),
    ...(consumers.length > 0 && consumers.every((c) => c.kind !== 'containerapp') ? { consumersReport: true } : {}),
  };
}

/** The current message arrived too late to run its step; rollback always runs, late or not. */
export function isPastDeadline(rotation: Rotation, now: Date): boolean {
  return rotation.step !== StepName.Rollback && now.getTime() > Date.parse(rotation.deadline);
}

export function currentMessage(rotation: Rotation): StepMessage {
  return { rotationId: rotation.id, secret: rotation.secret, step: rotation.step, attempt: rotation.attempt ?? 1 };
}

function isCurrent(rotation: Rotation, step: StepName, attempt: number): boolean {
  return step === rotation.step && attempt === (rotation.attempt ?? 1);
}

/**
 * The undo record of a world-changing step that failed for good: it may have
 * half happened (a crash after the provider call, then a permanent error on
 * the retry), so rollback undoes it too. prepare has none: a rotator whose
 * prepare fails permanently leaves nothing behind.
 */
export function undoIfAttempted(step: StepName): UndoRecord | undefined {
  switch (step) {
    case StepName.Apply:
      return { step, action: UndoAction.Applied, refs: {} };
    case StepName.Promote:
      return { step, action: UndoAction.Promoted, refs: {} };
    case StepName.Begin:
    case StepName.Prepare:
    case StepName.Nudge:
    case StepName.Verify:
    case StepName.Retire:
    case StepName.Revoke:
    case StepName.Rollback:
      return undefined;
  }
}

export function advance(rotation: Rotation, event: MachineEvent, now: Date, jitter: number, rules: MachineRules): Advanced {
  const unchanged: Advanced = { rotation, effects: [] };
  // An ended rotation only answers late messages and resumes; a late rollback still runs (it is never past its deadline).
  if (isTerminal(rotation.status) && event.kind !== 'message-not-current' && event.kind !== 'resumed' && event.kind !== 'dead-lettered') return unchanged;
  switch (event.kind) {
    case 'step-finished':
      return settle(rotation, event.outcome, event.startedAt, now, jitter, rules, event);
    case 'deadline-passed': {
      if (!isPastDeadline(rotation, now)) return unchanged;
      const outcome: StepOutcome = { kind: 'failed', code: RotationErrorCode.DeadlineExceeded, message: `the rotation passed its deadline ${rotation.deadline}` };
      return settle(rotation, outcome, now.toISOString(), now, jitter, rules, {});
    }
    case 'dead-lettered': {
      // The same dead letter again: the handler crashed after committing its outcome, before
      // its effects (lock release, notification, the rollback's first message). Repeat them.
      const last = rotation.steps.at(-1);
      if (last !== undefined && last.step === event.step && last.attempt === event.attempt && last.error?.code === RotationErrorCode.DeadLettered) {
        return { rotation, effects: commitEffects(rotation, now) };
      }
      if (isTerminal(rotation.status) || !isCurrent(rotation, event.step, event.attempt)) return unchanged;
      // A dead letter is a permanent failure of the current step: the table decides, so a
      // dead-lettered retire or revoke ends Failed with the verified credential kept, never rolled back.
      const outcome: StepOutcome = { kind: 'failed', code: RotationErrorCode.DeadLettered, message: event.reason };
      return settle(rotation, outcome, now.toISOString(), now, jitter, rules, {});
    }
    case 'message-not-current': {
      const last = rotation.steps.at(-1);
      // The message whose outcome the record holds last: its effects may have been cut short by a crash.
      const justCommitted = last !== undefined && last.step === event.step && last.attempt === event.attempt;
      if (isTerminal(rotation.status)) return { rotation, effects: isCurrent(rotation, event.step, event.attempt) ? commitEffects(rotation, now) : [] };
      return { rotation, effects: justCommitted ? commitEffects(rotation, now) : [sendStep(rotation, now)] };
    }
    case 'resumed':
      return {
        rotation,
        effects: isTerminal(rotation.status) ? [{ kind: 'release-lock', rotationId: rotation.id, secret: rotation.secret }] : [sendStep(rotation, now)],
      };
    case 'cancel-requested':
      return cancelRequested(rotation, event.reason, now);
  }
}

/**
 * How a cancel can end the rotation from where it is: before promote its work
 * is undone and it ends Cancelled; after promote (verify pending) it rolls
 * back; once verify passed the new credential stands (I8) and nothing is
 * cancelled; a rotation already rolling back goes on.
 */
export function cancelStage(rotation: Rotation): RotationCancel['via'] | 'verified' | 'rolling-back' | 'ended' {
  if (isTerminal(rotation.status)) return 'ended';
  if (rotation.status === RotationStatus.RollingBack) return 'rolling-back';
  switch (rotation.step) {
    case StepName.Begin:
    case StepName.Prepare:
    case StepName.Apply:
    case StepName.Promote:
      return 'undo';
    case StepName.Nudge:
    case StepName.Verify:
      return 'rollback';
    case StepName.Retire:
    case StepName.Revoke:
      return 'verified';
    case StepName.Rollback:
      return 'rolling-back';
  }
}

/** Steps that change nothing in the world: a cancel may leave them at once, even while one runs. */
function changesNothing(step: StepName): boolean {
  return step === StepName.Begin || step === StepName.Verify;
}

function cancelReason(cancel: RotationCancel): string {
  const why = cancel.reason === undefined ? '' : `: ${cancel.reason}`;
  return cancel.via === 'undo' ? `cancelled by an operator before promote${why}` : `cancelled by an operator after promote, so rolled back${why}`;
}

/**
 * The cancel is recorded on the rotation. A step that changes the world may be
 * running right now; it must record what it did before anything is undone, so
 * the machine leaves it when it finishes (`settle`). A rotation waiting for a
 * scheduled message, or at a step that changes nothing, is left at once.
 */
function cancelRequested(rotation: Rotation, reason: string | undefined, now: Date): Advanced {
  const stage = cancelStage(rotation);
  if (rotation.cancel !== undefined || (stage !== 'undo' && stage !== 'rollback')) return { rotation, effects: [] };
  const cancel: RotationCancel = { requestedAt: now.toISOString(), via: stage, ...(reason === undefined ? {} : { reason }) };
  const marked: Rotation = { ...rotation, cancel, updatedAt: now.toISOString() };
  const waiting = rotation.notBefore !== undefined && Date.parse(rotation.notBefore) > now.getTime();
  if (!changesNothing(rotation.step) && !waiting) return { rotation: marked, effects: [] };
  const attempted = waiting && (rotation.attempt ?? 1) > 1 ? undoIfAttempted(rotation.step) : undefined;
  const left = leaveForCancel(marked, attempted, now);
  return left;
}

/** Out of the normal path: rollback of what was done, or Cancelled at once when nothing was. */
function leaveForCancel(rotation: Rotation, attempted: UndoRecord | undefined, now: Date): Advanced {
  const cancel = rotation.cancel as RotationCancel;
  const undo = attempted === undefined ? rotation.undo : [...rotation.undo, attempted];
  const reason = cancelReason(cancel);
  const next: Rotation =
    undo.length === 0
      ? without({ ...rotation, undo, status: RotationStatus.Cancelled, endedAt: now.toISOString(), updatedAt: now.toISOString(), reason }, 'notBefore')
      : without({ ...rotation, undo, status: RotationStatus.RollingBack, step: StepName.Rollback, attempt: 1, updatedAt: now.toISOString(), reason }, 'notBefore');
  return { rotation: next, effects: commitEffects(next, now) };
}

/** The current step has an outcome: record it, decide where the rotation goes, and what follows. */
function settle(
  rotation: Rotation,
  outcome: StepOutcome,
  startedAt: string,
  now: Date,
  jitter: number,
  rules: MachineRules,
  result: { readonly patch?: RotationPatch; readonly undo?: UndoRecord },
): Advanced {
  const succeeded = outcome.kind === 'succeeded';
  const patched: Rotation = succeeded ? { ...rotation, ...result.patch } : rotation;
  // begin learns the policy, and with it the deadline (grace and revoke-after count in).
  // A begin scheduled for later (a maintenance window, a paced batch) counts from when it was due.
  const begunAt = Math.max(Date.parse(rotation.createdAt), rotation.notBefore === undefined ? 0 : Date.parse(rotation.notBefore));
  const deadline = rotation.step === StepName.Begin && succeeded ? deadlineFor(begunAt, patched.policy, rules) : rotation.deadline;
  const t = transition({
    status: rotation.status,
    step: rotation.step,
    attempt: rotation.attempt ?? 1,
    undoCount: rotation.undo.length + (succeeded && result.undo !== undefined ? 1 : 0),
    plan: planOf(patched.policy, rules, patched.adoption),
    waits: rotation.steps.filter((r) => r.step === rotation.step && r.outcome === 'waiting').length,
    throttles: rotation.steps.filter((r) => r.step === rotation.step && r.outcome === 'throttled').length,
    outcome,
    maxAttempts: rules.maxStepAttempts,
    backoff: rules.backoff,
    remainingMs: Date.parse(deadline) - now.getTime(),
    jitter,
  });
  const record = stepRecord(rotation, outcome, t, startedAt, now);
  let next = nextRecord({ ...patched, deadline }, succeeded ? result.undo : undefined, t, record, now);
  const cancel = rotation.cancel;
  if (cancel !== undefined && rotation.status === RotationStatus.Running && next.status === RotationStatus.Running) {
    // Cancelled while this step ran (or waited to run): leave now that its undo record is in.
    if (next.step !== StepName.Retire && next.step !== StepName.Revoke) {
      return leaveForCancel(next, t.kind === 'retry' ? undoIfAttempted(rotation.step) : undefined, now);
    }
  }
  if (cancel?.via === 'undo' && next.status === RotationStatus.RolledBack) next = { ...next, status: RotationStatus.Cancelled, reason: cancelReason(cancel) };
  return { rotation: next, effects: commitEffects(next, now) };
}

function stepRecord(rotation: Rotation, outcome: StepOutcome, t: Transition, startedAt: string, now: Date): StepRecord {
  const base = { step: rotation.step, attempt: rotation.attempt ?? 1, startedAt, endedAt: now.toISOString() };
  switch (outcome.kind) {
    case 'succeeded':
      return { ...base, outcome: 'succeeded', ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) };
    case 'skipped':
      return { ...base, outcome: 'succeeded', detail: `skipped: ${outcome.reason}` };
    case 'aborted':
      return { ...base, outcome: 'failed', error: { code: RotationErrorCode.Unhealthy, message: outcome.reason } };
    case 'unhealthy':
      return { ...base, outcome: t.kind === 'retry' ? 'retrying' : 'failed', error: { code: RotationErrorCode.Unhealthy, message: outcome.reason } };
    case 'waiting':
      return t.kind === 'retry'
        ? { ...base, outcome: 'waiting', detail: outcome.reason }
        : { ...base, outcome: 'failed', error: { code: RotationErrorCode.DeadlineExceeded, message: outcome.reason } };
    case 'throttled':
      return t.kind === 'retry'
        ? { ...base, outcome: 'throttled', error: { code: RotationErrorCode.VaultThrottled, message: outcome.reason } }
        : { ...base, outcome: 'failed', error: { code: RotationErrorCode.DeadlineExceeded, message: outcome.reason } };
    case 'failed':
      return { ...base, outcome: t.kind === 'retry' ? 'retrying' : 'failed', error: { code: outcome.code, message: outcome.message } };
  }
}

function without<K extends keyof Rotation>(rotation: Rotation, key: K): Rotation {
  const copy = { ...rotation };
  delete copy[key];
  return copy;
}

/** The record after a step: its history, its undo record (on success), and where the machine goes next. */
function nextRecord(patched: Rotation, undo: UndoRecord | undefined, t: Transition, record: StepRecord, now: Date): Rotation {
  const at = (delayMs: number): string => new Date(now.getTime() + delayMs).toISOString();
  let next: Rotation = {
    ...patched,
    steps: [...patched.steps, record],
    undo: undo === undefined ? patched.undo : [...patched.undo, undo],
    updatedAt: now.toISOString(),
  };
  switch (t.kind) {
    case 'advance': {
      const attempted = t.step === StepName.Rollback && record.outcome !== 'succeeded' ? undoIfAttempted(record.step) : undefined;
      next = without({ ...next, status: t.status, step: t.step, attempt: 1, ...(t.reason === undefined ? {} : { reason: t.reason }) }, 'notBefore');
      if (attempted !== undefined) next = { ...next, undo: [...next.undo, attempted] };
      return t.delayMs > 0 ? { ...next, notBefore: at(t.delayMs) } : next;
    }
    case 'retry':
      return { ...next, attempt: t.attempt, notBefore: at(t.delayMs) };
    case 'end':
      return without({ ...next, status: t.status, endedAt: now.toISOString(), ...(t.reason === undefined ? {} : { reason: t.reason }) }, 'notBefore');
  }
}

function sendStep(rotation: Rotation, now: Date): Effect {
  const due = rotation.notBefore !== undefined && Date.parse(rotation.notBefore) > now.getTime();
  return { kind: 'send-step', message: currentMessage(rotation), ...(due ? { notBefore: rotation.notBefore } : {}) };
}

function endNotification(status: RotationStatus): NotificationType | undefined {
  switch (status) {
    case RotationStatus.Completed:
      return NotificationType.Completed;
    case RotationStatus.RolledBack:
      return NotificationType.RolledBack;
    case RotationStatus.Failed:
      return NotificationType.Failed;
    case RotationStatus.Aborted:
      return NotificationType.Aborted;
    case RotationStatus.Cancelled:
      return NotificationType.Cancelled;
    case RotationStatus.Skipped:
    case RotationStatus.Running:
    case RotationStatus.RollingBack:
      return undefined;
  }
}

function notification(rotation: Rotation, type: NotificationType): Effect {
  return {
    kind: 'notify',
    notification: {
      type,
      rotationId: rotation.id,
      secret: rotation.secret,
      status: rotation.status,
      versions: rotation.versions,
      ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
      ...(rotation.endedAt === undefined ? {} : { durationMs: Date.parse(rotation.endedAt) - Date.parse(rotation.createdAt) }),
      ...(rotation.adoption === undefined || rotation.adoption.consumers.length === 0 ? {} : { consumers: rotation.adoption.consumers }),
    },
  };
}

/**
 * What follows a committed step outcome, derived from the record alone, so a
 * redelivery of the message just committed repeats it after a crash (at least once):
 * the next message (and Started after begin), or the history appended, the lock
 * released and the end notified.
 */
function commitEffects(rotation: Rotation, now: Date): Effect[] {
  const effects: Effect[] = [];
  const last = rotation.steps.at(-1);
  if (isTerminal(rotation.status)) {
    effects.push({ kind: 'audit', entries: auditTrailOf(rotation) });
    effects.push({ kind: 'release-lock', rotationId: rotation.id, secret: rotation.secret });
    const type = endNotification(rotation.status);
    if (type !== undefined) effects.push(notification(rotation, type));
    return effects;
  }
  effects.push(sendStep(rotation, now));
  if (last?.step === StepName.Begin && last.outcome === 'succeeded' && rotation.step !== StepName.Begin) effects.push(notification(rotation, NotificationType.Started));
  return effects;
}
