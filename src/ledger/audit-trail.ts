import { RotationStatus, StepName, type Rotation } from '../rotation/model.js';
import type { AuditEntry } from '../rotation/ports.js';

/**
 * A rotation's audit entries, derived from its record. The record holds every
 * step (each commit writes it), so the trail is not appended step by step: the
 * whole history goes out as one block when the rotation ends (one ledger
 * request per rotation instead of one per step). Every entry keeps its own
 * time. References only, as in the record: no secret value is in either.
 *
 * - `rotation.created` (trigger, rotator, strategy, the operator's reason);
 * - `step.<step>.<outcome>` per step record, at its end (attempt, the status
 *   and step it led to, the error code);
 * - `cancel.requested` when an operator cancelled it (how: undo or rollback);
 * - `rotation.ended` (status, reason, duration).
 */
export function auditTrailOf(rotation: Rotation): AuditEntry[] {
  const { id: rotationId, secret } = rotation;
  const entry = (at: string, event: string, detail: Record<string, string | number | boolean>): AuditEntry => ({ at, rotationId, secret, event, detail });
  const entries: AuditEntry[] = [
    entry(rotation.createdAt, 'rotation.created', {
      trigger: rotation.trigger.kind,
      rotator: rotation.rotator,
      strategy: rotation.strategy,
      ...(rotation.trigger.reason === undefined ? {} : { reason: rotation.trigger.reason }),
    }),
  ];
  rotation.steps.forEach((record, i) => {
    const following = rotation.steps[i + 1];
    const last = following === undefined;
    const status = last ? rotation.status : following.step === StepName.Rollback ? RotationStatus.RollingBack : RotationStatus.Running;
    entries.push(
      entry(record.endedAt, `step.${record.step}.${record.outcome}`, {
        attempt: record.attempt,
        status,
        next: last ? rotation.step : following.step,
        ...(record.error === undefined ? {} : { error: record.error.code }),
      }),
    );
  });
  if (rotation.cancel !== undefined) entries.push(entry(rotation.cancel.requestedAt, 'cancel.requested', { via: rotation.cancel.via }));
  if (rotation.endedAt !== undefined) {
    entries.push(
      entry(rotation.endedAt, 'rotation.ended', {
        status: rotation.status,
        durationMs: Date.parse(rotation.endedAt) - Date.parse(rotation.createdAt),
        ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
      }),
    );
  }
  // Stable: entries at the same instant keep the order above.
  return entries.map((e, i) => ({ e, i })).sort((a, b) => a.e.at.localeCompare(b.e.at) || a.i - b.i).map(({ e }) => e);
}
