import { describe, expect, it } from 'vitest';
import { RotationErrorCode } from '../../../src/rotation/errors.js';
import { StepName, Strategy } from '../../../src/rotation/model.js';
import { backoffDelay, nextStep, transition, type StepOutcome, type StepPlan, type TransitionInput } from '../../../src/rotation/transitions.js';

const single: StepPlan = { strategy: Strategy.Single, hasApply: true, graceMs: 60_000 };
const random: StepPlan = { strategy: Strategy.Single, hasApply: false, graceMs: 60_000 };
const alternating: StepPlan = { strategy: Strategy.Alternating, hasApply: false, graceMs: 60_000, revokeAfterMs: 3_600_000 };

function input(step: StepName, outcome: StepOutcome, overrides: Partial<TransitionInput> = {}): TransitionInput {
  return {
    status: 'Running',
    step,
    attempt: 1,
    undoCount: 1,
    plan: single,
    outcome,
    maxAttempts: 3,
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    remainingMs: 3_600_000,
    jitter: 0,
    ...overrides,
  };
}

const ok: StepOutcome = { kind: 'succeeded' };
const transient: StepOutcome = { kind: 'failed', code: RotationErrorCode.VaultThrottled, message: '429' };
const permanent: StepOutcome = { kind: 'failed', code: RotationErrorCode.ProviderRejected, message: 'no' };

describe('nextStep', () => {
  it.each([
    ['single with apply', single, ['begin', 'prepare', 'apply', 'promote', 'nudge', 'verify', 'retire']],
    ['single without apply, with a pending version', random, ['begin', 'prepare', 'promote', 'nudge', 'verify', 'retire']],
    ['single direct (random: nothing at a provider)', { ...random, direct: true }, ['begin', 'promote', 'nudge', 'verify', 'retire']],
    ['alternating with revoke-after, with a pending version (restore needs it: the webhook)', alternating, ['begin', 'prepare', 'promote', 'nudge', 'verify', 'retire', 'revoke']],
    ['alternating direct, with revoke-after (promote mints and writes)', { ...alternating, direct: true }, ['begin', 'promote', 'nudge', 'verify', 'retire', 'revoke']],
  ])('walks the happy path of %s', (_name, plan, expected) => {
    // Act
    const path: string[] = [StepName.Begin];
    for (let next = nextStep(StepName.Begin, plan); next !== undefined; next = nextStep(next.step, plan)) path.push(next.step);

    // Assess
    expect(path).toEqual(expected);
  });

  it('schedules verify after the grace period and revoke after revoke-after', () => {
    expect(nextStep(StepName.Promote, alternating)).toEqual({ step: StepName.Nudge, delayMs: 0 });
    expect(nextStep(StepName.Nudge, alternating)).toEqual({ step: StepName.Verify, delayMs: 60_000 });
    expect(nextStep(StepName.Nudge, { ...alternating, consumersReport: true })).toEqual({ step: StepName.Verify, delayMs: 0 });
    expect(nextStep(StepName.Retire, alternating)).toEqual({ step: StepName.Revoke, delayMs: 3_600_000 });
  });
});

describe('transition', () => {
  it.each<[string, TransitionInput, object]>([
    ['success moves on', input(StepName.Prepare, ok), { kind: 'advance', status: 'Running', step: 'apply', delayMs: 0 }],
    ['the last step completes', input(StepName.Retire, ok), { kind: 'end', status: 'Completed' }],
    ['a finished rollback is RolledBack', input(StepName.Rollback, ok, { status: 'RollingBack' }), { kind: 'end', status: 'RolledBack' }],
    ['a stale trigger is Skipped', input(StepName.Begin, { kind: 'skipped', reason: 'stale' }, { undoCount: 0 }), { kind: 'end', status: 'Skipped', reason: 'stale' }],
    ['an unhealthy pre-flight is Aborted', input(StepName.Begin, { kind: 'aborted', reason: 'sick' }, { undoCount: 0 }), { kind: 'end', status: 'Aborted', reason: 'sick' }],
    ['a transient error retries with backoff', input(StepName.Promote, transient), { kind: 'retry', step: 'promote', attempt: 2, delayMs: 500 }],
    ['a Retry-After longer than the backoff is honoured', input(StepName.Promote, { ...transient, retryAfterMs: 30_000 }), { kind: 'retry', step: 'promote', attempt: 2, delayMs: 30_000 }],
    ['a Retry-After shorter than the backoff does not shorten it', input(StepName.Promote, { ...transient, retryAfterMs: 10 }), { kind: 'retry', step: 'promote', attempt: 2, delayMs: 500 }],
    ['an unhealthy verify retries', input(StepName.Verify, { kind: 'unhealthy', reason: '503' }, { attempt: 2 }), { kind: 'retry', step: 'verify', attempt: 3, delayMs: 1_000 }],
    ['a permanent error after a change rolls back', input(StepName.Apply, permanent), { kind: 'advance', status: 'RollingBack', step: 'rollback' }],
    ['a permanent error before any change fails', input(StepName.Prepare, permanent, { undoCount: 0 }), { kind: 'end', status: 'Failed' }],
    ['a permanent error at begin fails', input(StepName.Begin, { kind: 'failed', code: RotationErrorCode.InvalidPolicy, message: 'rotor-validity: too short' }, { undoCount: 0 }), { kind: 'end', status: 'Failed', errorCode: 'InvalidPolicy' }],
    ['exhausted retries roll back', input(StepName.Promote, transient, { attempt: 3 }), { kind: 'advance', step: 'rollback' }],
    ['exhausted health retries roll back', input(StepName.Verify, { kind: 'unhealthy', reason: '503' }, { attempt: 3 }), { kind: 'advance', step: 'rollback' }],
    ['a retry that would pass the deadline gives up', input(StepName.Promote, transient, { remainingMs: 100 }), { kind: 'advance', step: 'rollback' }],
    ['a failed retire needs a human, not a rollback', input(StepName.Retire, permanent), { kind: 'end', status: 'Failed' }],
    ['a failed revoke needs a human, not a rollback', input(StepName.Revoke, permanent), { kind: 'end', status: 'Failed' }],
    ['a failed rollback is Failed', input(StepName.Rollback, permanent, { status: 'RollingBack' }), { kind: 'end', status: 'Failed' }],
    ['a transient rollback error retries', input(StepName.Rollback, transient, { status: 'RollingBack' }), { kind: 'retry', step: 'rollback', attempt: 2 }],
  ])('%s', (_name, given, expected) => {
    // Act
    const result = transition(given);

    // Assess
    expect(result).toMatchObject(expected);
  });

  it('names the error and the step in the reason of a rollback', () => {
    const result = transition(input(StepName.Promote, transient, { attempt: 3 }));
    expect(result).toMatchObject({ reason: expect.stringContaining('RetriesExhausted: promote did not succeed after 3 attempts') });
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, 0, 500],
    [1, 0.999_999, 1_000],
    [3, 0, 2_000],
    [10, 0, 4_000],
    [10, 0.999_999, 8_000],
  ])('attempt %i with jitter %f waits %i ms', (attempt, jitter, expected) => {
    expect(backoffDelay(attempt, { baseMs: 1_000, maxMs: 8_000 }, jitter)).toBe(expected);
  });
});
