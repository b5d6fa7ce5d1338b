import { formatSecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import { isTerminal, RotationStatus, StepName, type Rotation } from '../rotation/model.js';
import { NotificationType, type Clock, type Notifier, type RotationLedger, type StepQueue } from '../rotation/ports.js';

/**
 * Ending rotations the step machine can no longer drive itself: one whose
 * message was dead-lettered, one stuck past its deadline (I3). A rotation that
 * has not promoted ends Failed; one that has promoted is handed back to the
 * step machine as a rollback, because only rollback restores continuity (I1).
 */

export interface RecoveryDependencies {
  readonly ledger: RotationLedger;
  readonly queue: StepQueue;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly log: Logger;
}

export const RecoveryOutcome = {
  NotFound: 'not-found',
  AlreadyEnded: 'already-ended',
  Failed: 'failed',
  RollingBack: 'rolling-back',
  Resumed: 'resumed',
} as const;
export type RecoveryOutcome = (typeof RecoveryOutcome)[keyof typeof RecoveryOutcome];

const UPDATE_TRIES = 5;

/**
 * Read-modify-write under the ledger's ETag: a lost race re-reads and decides
 * again, so the sweep and a step handler finishing at the same moment never
 * overwrite each other. `change` returns `undefined` to leave the record be.
 */
export async function updateRotationRecord(
  ledger: RotationLedger,
  rotationId: string,
  change: (current: Rotation) => Rotation | undefined,
): Promise<{ readonly before: Rotation; readonly after?: Rotation } | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await ledger.getRotation(rotationId);
    if (current === undefined) return undefined;
    const next = change(current.value);
    if (next === undefined) return { before: current.value };
    try {
      await ledger.updateRotation(current, next);
      return { before: current.value, after: next };
    } catch (error) {
      if (attempt >= UPDATE_TRIES) throw error;
    }
  }
}

/** The attempt number a re-sent step gets, so duplicate detection does not drop it as an old message. */
export function nextAttempt(rotation: Rotation, step: StepName): number {
  return rotation.steps.filter((s) => s.step === step).reduce((max, s) => Math.max(max, s.attempt), 0) + 1;
}

function hasPromoted(rotation: Rotation): boolean {
  return rotation.versions.promoted !== undefined && rotation.versions.restored === undefined;
}

/** Marks the rotation Failed with `reason`, releases the secret's lock, records and notifies. */
export async function failRotation(rotationId: string, reason: string, deps: RecoveryDependencies): Promise<RecoveryOutcome> {
  const now = deps.clock.now().toISOString();
  const result = await updateRotationRecord(deps.ledger, rotationId, (current) =>
    isTerminal(current.status) ? undefined : { ...current, status: RotationStatus.Failed, reason, endedAt: now, updatedAt: now },
  );
  if (result === undefined) return RecoveryOutcome.NotFound;
  const ended = result.after;
  if (ended === undefined) return RecoveryOutcome.AlreadyEnded;

  await deps.ledger.releaseLock(ended.secret, ended.id);
  await deps.ledger.appendAudit({ at: now, rotationId: ended.id, secret: ended.secret, event: 'failed', detail: { reason, step: ended.step } });
  deps.log.warn('rotation failed', { rotationId: ended.id, secret: formatSecretRef(ended.secret), step: ended.step, reason });
  await deps.notifier.notify({
    type: NotificationType.Failed,
    rotationId: ended.id,
    secret: ended.secret,
    status: RotationStatus.Failed,
    versions: ended.versions,
    reason,
    durationMs: Math.max(0, Date.parse(now) - Date.parse(ended.createdAt)),
  });
  return RecoveryOutcome.Failed;
}

/** Hands a promoted rotation to the step machine's rollback, which restores the previous value and notifies. */
export async function beginRecoveryRollback(rotationId: string, reason: string, deps: RecoveryDependencies): Promise<RecoveryOutcome> {
  const now = deps.clock.now().toISOString();
  const result = await updateRotationRecord(deps.ledger, rotationId, (current) =>
    isTerminal(current.status) ? undefined : { ...current, status: RotationStatus.RollingBack, step: StepName.Rollback, reason, updatedAt: now },
  );
  if (result === undefined) return RecoveryOutcome.NotFound;
  const rolling = result.after;
  if (rolling === undefined) return RecoveryOutcome.AlreadyEnded;
  await deps.queue.sendStep({ rotationId: rolling.id, secret: rolling.secret, step: StepName.Rollback, attempt: nextAttempt(rolling, StepName.Rollback) });
  await deps.ledger.appendAudit({ at: now, rotationId: rolling.id, secret: rolling.secret, event: 'rollback-requested', detail: { reason } });
  deps.log.warn('rotation rolling back', { rotationId: rolling.id, secret: formatSecretRef(rolling.secret), reason });
  return RecoveryOutcome.RollingBack;
}

/**
 * Ends a rotation that cannot continue as it was: rollback if it promoted,
 * Failed otherwise (also when its rollback is what could not continue).
 */
export async function endRotation(rotationId: string, reason: string, deps: RecoveryDependencies): Promise<RecoveryOutcome> {
  const found = await deps.ledger.getRotation(rotationId);
  if (found === undefined) return RecoveryOutcome.NotFound;
  const rotation = found.value;
  if (isTerminal(rotation.status)) return RecoveryOutcome.AlreadyEnded;
  if (rotation.status === RotationStatus.RollingBack) return failRotation(rotationId, `rollback could not complete: ${reason}`, deps);
  if (hasPromoted(rotation)) return beginRecoveryRollback(rotationId, reason, deps);
  return failRotation(rotationId, reason, deps);
}
