import { describe, expect, it } from 'vitest';
import { RotationErrorCode } from '../../../src/rotation/errors.js';
import { advance, type Effect, type MachineRules } from '../../../src/rotation/machine.js';
import { RotationStatus, StepName, Strategy, UndoAction, type Rotation, type UndoRecord } from '../../../src/rotation/model.js';
import type { RotationPolicy } from '../../../src/rotation/policy-types.js';

/** The cancel paths the machine table shows only in their first move: what happens at the next step boundary. */

const T0 = Date.parse('2026-12-04T12:00:00.000Z');
const rules: MachineRules = { maxStepAttempts: 3, backoff: { baseMs: 1_000, maxMs: 8_000 }, rotationBudgetMs: 7_200_000, hasApply: () => false };
const policy: RotationPolicy = { rotator: 'random', strategy: Strategy.Single, validityMs: 90 * 86_400_000, graceMs: 60_000, health: [], tags: { 'rotor-rotator': 'random' } };
const prepared: UndoRecord = { step: StepName.Prepare, action: UndoAction.Prepared, refs: { pendingVersion: 'p1' } };
const promoted: UndoRecord = { step: StepName.Promote, action: UndoAction.Promoted, refs: { version: 'v2' } };

function at(step: StepName, undo: readonly UndoRecord[], extra: Partial<Rotation> = {}): Rotation {
  return {
    id: 'r1',
    secret: { vaultUrl: 'https://kv.vault.azure.net', name: 'api-key' },
    trigger: { kind: 'manual' },
    rotator: 'random',
    strategy: Strategy.Single,
    status: RotationStatus.Running,
    step,
    attempt: 1,
    dryRun: false,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    deadline: new Date(T0 + 10_000_000).toISOString(),
    versions: { previous: 'v1' },
    policy,
    steps: [],
    undo,
    ...extra,
  };
}

const now = (ms = 1_000): Date => new Date(T0 + ms);
const kinds = (effects: readonly Effect[]): string[] =>
  effects.map((e) => (e.kind === 'send-step' ? `send ${e.message.step}` : e.kind === 'notify' ? `notify ${e.notification.type}` : e.kind === 'audit' ? 'history' : e.kind));

describe('cancel', () => {
  it('before promote: the step in flight finishes, its work is undone, and the rotation ends Cancelled with the reason', () => {
    // Prepare: cancelled while prepare ran
    const marked = advance(at(StepName.Prepare, []), { kind: 'cancel-requested', reason: 'wrong secret' }, now(), 0, rules).rotation;

    // Act: prepare finishes, then the rollback it leads to
    const finished = advance(marked, { kind: 'step-finished', startedAt: now().toISOString(), outcome: { kind: 'succeeded' }, undo: prepared }, now(2_000), 0, rules);
    const undone = advance(finished.rotation, { kind: 'step-finished', startedAt: now(3_000).toISOString(), outcome: { kind: 'succeeded' } }, now(3_000), 0, rules);

    // Assess
    expect(finished.rotation).toMatchObject({ status: 'RollingBack', step: 'rollback', undo: [prepared] });
    expect(kinds(finished.effects)).toEqual(['send rollback']);
    expect(undone.rotation).toMatchObject({ status: 'Cancelled', reason: 'cancelled by an operator before promote: wrong secret' });
    expect(kinds(undone.effects)).toEqual(['history', 'release-lock', 'notify Rotor.Rotation.Cancelled']);
  });

  it('before promote, a promote in flight that completes is undone too, and still ends Cancelled', () => {
    const marked = advance(at(StepName.Promote, [prepared]), { kind: 'cancel-requested' }, now(), 0, rules).rotation;

    const finished = advance(marked, { kind: 'step-finished', startedAt: now().toISOString(), outcome: { kind: 'succeeded' }, undo: promoted }, now(2_000), 0, rules);
    const undone = advance(finished.rotation, { kind: 'step-finished', startedAt: now(3_000).toISOString(), outcome: { kind: 'succeeded' } }, now(3_000), 0, rules);

    expect(finished.rotation).toMatchObject({ status: 'RollingBack', undo: [prepared, promoted] });
    expect(undone.rotation.status).toBe('Cancelled');
  });

  it('a step that failed transiently under a cancel is left with its possible half-done work on the undo stack', () => {
    const marked = advance(at(StepName.Promote, [prepared]), { kind: 'cancel-requested' }, now(), 0, rules).rotation;

    const failed = advance(marked, { kind: 'step-finished', startedAt: now().toISOString(), outcome: { kind: 'failed', code: RotationErrorCode.VaultThrottled, message: '429' } }, now(2_000), 0, rules);

    expect(failed.rotation).toMatchObject({ status: 'RollingBack', step: 'rollback', undo: [prepared, { step: 'promote', action: 'promoted' }] });
  });

  it('a rotation waiting for a scheduled retry is left at once, with what the earlier attempt may have done', () => {
    const waiting = at(StepName.Promote, [prepared], { attempt: 2, notBefore: now(60_000).toISOString() });

    const result = advance(waiting, { kind: 'cancel-requested' }, now(), 0, rules);

    expect(result.rotation).toMatchObject({ status: 'RollingBack', step: 'rollback', attempt: 1, undo: [prepared, { step: 'promote', action: 'promoted' }] });
    expect(result.rotation.notBefore).toBeUndefined();
    expect(kinds(result.effects)).toEqual(['send rollback']);
  });

  it('after promote: rolled back, ending RolledBack with the reason', () => {
    const rolling = advance(at(StepName.Verify, [prepared, promoted]), { kind: 'cancel-requested', reason: 'bad deploy' }, now(), 0, rules);

    const done = advance(rolling.rotation, { kind: 'step-finished', startedAt: now(2_000).toISOString(), outcome: { kind: 'succeeded' } }, now(2_000), 0, rules);

    expect(rolling.rotation.cancel).toMatchObject({ via: 'rollback', reason: 'bad deploy' });
    expect(done.rotation).toMatchObject({ status: 'RolledBack', reason: 'cancelled by an operator after promote, so rolled back: bad deploy' });
    expect(kinds(done.effects)).toContain('notify Rotor.Rotation.RolledBack');
  });

  it('a second cancel changes nothing', () => {
    const marked = advance(at(StepName.Prepare, []), { kind: 'cancel-requested', reason: 'first' }, now(), 0, rules).rotation;

    const again = advance(marked, { kind: 'cancel-requested', reason: 'second' }, now(2_000), 0, rules);

    expect(again).toEqual({ rotation: marked, effects: [] });
  });

  it('a begin scheduled for a window counts its deadline from the window, not from when it was created', () => {
    const deferredBy = 3 * 86_400_000;
    const deferred = at(StepName.Begin, [], { notBefore: new Date(T0 + deferredBy).toISOString(), versions: {} });

    const begun = advance(deferred, { kind: 'step-finished', startedAt: now(deferredBy).toISOString(), outcome: { kind: 'succeeded' }, patch: { policy } }, now(deferredBy + 1_000), 0, rules);

    expect(Date.parse(begun.rotation.deadline)).toBe(T0 + deferredBy + rules.rotationBudgetMs + policy.graceMs);
  });
});
