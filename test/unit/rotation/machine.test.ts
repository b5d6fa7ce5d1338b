import { describe, expect, it } from 'vitest';
import { RotationErrorCode } from '../../../src/rotation/errors.js';
import { advance, type Effect, type MachineEvent, type MachineRules } from '../../../src/rotation/machine.js';
import type { StepOutcome } from '../../../src/rotation/transitions.js';
import { RotationStatus, StepName, Strategy, UndoAction, type Rotation, type StepRecord, type UndoRecord } from '../../../src/rotation/model.js';
import type { RotationPolicy } from '../../../src/rotation/policy-types.js';

/**
 * The machine's whole table: every (status, step, event) with the record it
 * leads to and the effects, in order. Live rows are the (status, step) pairs a
 * rotation can be in (checked below by walking the machine); every ended
 * status is crossed with every step.
 */

const T0 = Date.parse('2026-12-04T12:00:00.000Z');
const GRACE = 60_000;
const REVOKE_AFTER = 3_600_000;
const rules: MachineRules = {
  maxStepAttempts: 3,
  backoff: { baseMs: 1_000, maxMs: 8_000 },
  rotationBudgetMs: 7_200_000,
  hasApply: (rotator) => rotator === 'single-apply',
};
const policy: RotationPolicy = {
  rotator: 'single-apply',
  strategy: Strategy.Single,
  validityMs: 30 * 86_400_000,
  graceMs: GRACE,
  health: [],
  revokeAfterMs: REVOKE_AFTER,
  tags: { 'rotor-rotator': 'single-apply' },
};

const prepared: UndoRecord = { step: StepName.Prepare, action: UndoAction.Prepared, refs: { pendingVersion: 'p1' } };
const applied: UndoRecord = { step: StepName.Apply, action: UndoAction.Applied, refs: {} };
const promoted: UndoRecord = { step: StepName.Promote, action: UndoAction.Promoted, refs: { version: 'v2' } };

/** The undo stack a rotation holds when it reaches each step on the happy path (single with apply, revoke-after). */
const undoAt: Record<StepName, readonly UndoRecord[]> = {
  begin: [],
  prepare: [],
  apply: [prepared],
  promote: [prepared, applied],
  nudge: [prepared, applied, promoted],
  verify: [prepared, applied, promoted],
  retire: [prepared, applied, promoted],
  revoke: [prepared, applied, promoted],
  rollback: [prepared, applied, promoted],
};
const before: Record<StepName, StepName | undefined> = {
  begin: undefined,
  prepare: StepName.Begin,
  apply: StepName.Prepare,
  promote: StepName.Apply,
  nudge: StepName.Promote,
  verify: StepName.Nudge,
  retire: StepName.Verify,
  revoke: StepName.Retire,
  rollback: StepName.Verify,
};

function record(step: StepName, outcome: StepRecord['outcome'] = 'succeeded'): StepRecord {
  return { step, attempt: 1, startedAt: new Date(T0).toISOString(), endedAt: new Date(T0).toISOString(), outcome };
}

function rotationAt(status: RotationStatus, step: StepName): Rotation {
  const last = before[step];
  return {
    id: 'r1',
    secret: { vaultUrl: 'https://kv.vault.azure.net', name: 'api-key' },
    trigger: { kind: 'manual' },
    rotator: 'single-apply',
    strategy: Strategy.Single,
    status,
    step,
    attempt: 1,
    dryRun: false,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    deadline: new Date(T0 + 10_000_000).toISOString(),
    ...(status === RotationStatus.Running || status === RotationStatus.RollingBack ? {} : { endedAt: new Date(T0).toISOString() }),
    versions: step === StepName.Begin ? {} : { previous: 'v1' },
    ...(step === StepName.Begin ? {} : { policy }),
    steps: last === undefined ? [] : [record(last, step === StepName.Rollback ? 'failed' : 'succeeded')],
    undo: undoAt[step],
  };
}

const NOW = T0 + 1_000;
/** A throttled call's `notBefore`, from now: Key Vault's Retry-After or the pacing budget's next slot. */
const THROTTLED_FOR = 2_500;
const LATE = T0 + 20_000_000;

type EventName =
  | 'succeeded'
  | 'skipped'
  | 'aborted'
  | 'unhealthy'
  | 'failed-transient'
  | 'throttled'
  | 'failed-permanent'
  | 'dead-lettered'
  | 'deadline-passed'
  | 'not-current:older'
  | 'not-current:just-committed'
  | 'not-current:same'
  | 'resumed'
  | 'cancel-requested';
const eventNames: readonly EventName[] = [
  'succeeded',
  'skipped',
  'aborted',
  'unhealthy',
  'failed-transient',
  'throttled',
  'failed-permanent',
  'dead-lettered',
  'deadline-passed',
  'not-current:older',
  'not-current:just-committed',
  'not-current:same',
  'resumed',
  'cancel-requested',
];

function eventFor(name: EventName, rotation: Rotation): { event: MachineEvent; now: number } {
  const finished = (outcome: Extract<MachineEvent, { kind: 'step-finished' }>['outcome'], extra: object = {}): { event: MachineEvent; now: number } => ({
    event: { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome, ...extra },
    now: NOW,
  });
  switch (name) {
    case 'succeeded': {
      const undo = rotation.step === StepName.Prepare ? prepared : rotation.step === StepName.Apply ? applied : rotation.step === StepName.Promote ? promoted : undefined;
      const patch = rotation.step === StepName.Begin ? { policy, versions: { previous: 'v1' } } : {};
      return finished({ kind: 'succeeded' }, { patch, ...(undo === undefined ? {} : { undo }) });
    }
    case 'skipped':
      return finished({ kind: 'skipped', reason: 'stale trigger' });
    case 'aborted':
      return finished({ kind: 'aborted', reason: 'pre-flight probe 503' });
    case 'unhealthy':
      return finished({ kind: 'unhealthy', reason: 'probe 503' });
    case 'failed-transient':
      return finished({ kind: 'failed', code: RotationErrorCode.VaultThrottled, message: '429' });
    case 'throttled':
      return finished({ kind: 'throttled', reason: 'get api-key: 429', retryAfterMs: THROTTLED_FOR });
    case 'failed-permanent':
      return finished({ kind: 'failed', code: RotationErrorCode.ProviderRejected, message: 'no' });
    case 'dead-lettered':
      return { event: { kind: 'dead-lettered', step: rotation.step, attempt: 1, reason: 'MaxDeliveryCountExceeded' }, now: NOW };
    case 'deadline-passed':
      return { event: { kind: 'deadline-passed' }, now: LATE };
    case 'not-current:older':
      return { event: { kind: 'message-not-current', step: rotation.step, attempt: 0 }, now: NOW };
    case 'not-current:just-committed':
      return { event: { kind: 'message-not-current', step: before[rotation.step] ?? rotation.step, attempt: before[rotation.step] === undefined ? 0 : 1 }, now: NOW };
    case 'not-current:same':
      return { event: { kind: 'message-not-current', step: rotation.step, attempt: 1 }, now: NOW };
    case 'resumed':
      return { event: { kind: 'resumed' }, now: NOW };
    case 'cancel-requested':
      return { event: { kind: 'cancel-requested', reason: 'wrong secret' }, now: NOW };
  }
}

function describeEffect(effect: Effect, now: number): string {
  switch (effect.kind) {
    case 'audit':
      return 'history';
    case 'send-step':
      return `send ${effect.message.step}#${effect.message.attempt}${effect.notBefore === undefined ? '' : ` +${Date.parse(effect.notBefore) - now}ms`}`;
    case 'release-lock':
      return 'release';
    case 'notify':
      return `notify ${effect.notification.type.replace('Rotor.Rotation.', '')}`;
  }
}

function run(status: RotationStatus, step: StepName, name: EventName): string {
  const rotation = rotationAt(status, step);
  const { event, now } = eventFor(name, rotation);
  const result = advance(rotation, event, new Date(now), 0, rules);
  if (result.rotation === rotation) return ['unchanged', ...result.effects.map((e) => describeEffect(e, now))].join(' | ');
  const r = result.rotation;
  const state = `${r.status}/${r.step}#${r.attempt ?? 1} undo[${r.undo.map((u) => u.action).join(',')}]`;
  return [state, ...result.effects.map((e) => describeEffect(e, now))].join(' | ');
}

// What every live (status, step) does with a permanent end: the dead-letter decision is the same row.
const rollsBack = (undo: string): string => `RollingBack/rollback#1 undo[${undo}] | send rollback#1`;
const fails = (step: StepName, undo: string): string => `Failed/${step}#1 undo[${undo}] | history | release | notify Failed`;
const retries = (step: StepName, undo: string): string => `Running/${step}#2 undo[${undo}] | send ${step}#2 +500ms`;
const rollbackRetries = `RollingBack/rollback#2 undo[prepared,applied,promoted] | send rollback#2 +500ms`;
// Throttled: the same step again at the throttle's notBefore (not the backoff), a new attempt number for a new message id.
const throttled = (step: StepName, undo: string, status = 'Running'): string => `${status}/${step}#2 undo[${undo}] | send ${step}#2 +${THROTTLED_FOR}ms`;
const ALL = 'prepared,applied,promoted';

const live: Record<string, Record<EventName, string>> = {
  'Running/begin': {
    succeeded: 'Running/prepare#1 undo[] | send prepare#1 | notify Started',
    skipped: 'Skipped/begin#1 undo[] | history | release',
    aborted: 'Aborted/begin#1 undo[] | history | release | notify Aborted',
    unhealthy: retries(StepName.Begin, ''),
    'failed-transient': retries(StepName.Begin, ''),
    throttled: throttled(StepName.Begin, ''),
    'failed-permanent': fails(StepName.Begin, ''),
    'dead-lettered': fails(StepName.Begin, ''),
    'deadline-passed': fails(StepName.Begin, ''),
    'not-current:older': 'unchanged | send begin#1',
    'not-current:just-committed': 'unchanged | send begin#1',
    'not-current:same': 'unchanged | send begin#1',
    resumed: 'unchanged | send begin#1',
    // Begin changes nothing: a cancel ends it at once.
    'cancel-requested': 'Cancelled/begin#1 undo[] | history | release | notify Cancelled',
  },
  'Running/prepare': {
    succeeded: 'Running/apply#1 undo[prepared] | send apply#1',
    skipped: 'Skipped/prepare#1 undo[] | history | release',
    aborted: 'Aborted/prepare#1 undo[] | history | release | notify Aborted',
    unhealthy: retries(StepName.Prepare, ''),
    'failed-transient': retries(StepName.Prepare, ''),
    throttled: throttled(StepName.Prepare, ''),
    'failed-permanent': fails(StepName.Prepare, ''),
    'dead-lettered': fails(StepName.Prepare, ''),
    'deadline-passed': fails(StepName.Prepare, ''),
    'not-current:older': 'unchanged | send prepare#1',
    'not-current:just-committed': 'unchanged | send prepare#1 | notify Started',
    'not-current:same': 'unchanged | send prepare#1',
    resumed: 'unchanged | send prepare#1',
    // A step that changes the world may be running: the cancel is recorded, and taken when it finishes.
    'cancel-requested': 'Running/prepare#1 undo[]',
  },
  'Running/apply': {
    succeeded: 'Running/promote#1 undo[prepared,applied] | send promote#1',
    skipped: 'Skipped/apply#1 undo[prepared] | history | release',
    aborted: 'Aborted/apply#1 undo[prepared] | history | release | notify Aborted',
    unhealthy: retries(StepName.Apply, 'prepared'),
    'failed-transient': retries(StepName.Apply, 'prepared'),
    throttled: throttled(StepName.Apply, 'prepared'),
    'failed-permanent': rollsBack('prepared,applied'),
    'dead-lettered': rollsBack('prepared,applied'),
    'deadline-passed': rollsBack('prepared,applied'),
    'not-current:older': 'unchanged | send apply#1',
    'not-current:just-committed': 'unchanged | send apply#1',
    'not-current:same': 'unchanged | send apply#1',
    resumed: 'unchanged | send apply#1',
    'cancel-requested': 'Running/apply#1 undo[prepared]',
  },
  'Running/promote': {
    succeeded: `Running/nudge#1 undo[${ALL}] | send nudge#1`,
    skipped: 'Skipped/promote#1 undo[prepared,applied] | history | release',
    aborted: 'Aborted/promote#1 undo[prepared,applied] | history | release | notify Aborted',
    unhealthy: retries(StepName.Promote, 'prepared,applied'),
    'failed-transient': retries(StepName.Promote, 'prepared,applied'),
    throttled: throttled(StepName.Promote, 'prepared,applied'),
    'failed-permanent': rollsBack(ALL),
    'dead-lettered': rollsBack(ALL),
    'deadline-passed': rollsBack(ALL),
    'not-current:older': 'unchanged | send promote#1',
    'not-current:just-committed': 'unchanged | send promote#1',
    'not-current:same': 'unchanged | send promote#1',
    resumed: 'unchanged | send promote#1',
    'cancel-requested': 'Running/promote#1 undo[prepared,applied]',
  },
  'Running/nudge': {
    // No consumer that reports: verify waits the grace, as before.
    succeeded: `Running/verify#1 undo[${ALL}] | send verify#1 +${GRACE}ms`,
    skipped: `Skipped/nudge#1 undo[${ALL}] | history | release`,
    aborted: `Aborted/nudge#1 undo[${ALL}] | history | release | notify Aborted`,
    unhealthy: retries(StepName.Nudge, ALL),
    'failed-transient': retries(StepName.Nudge, ALL),
    throttled: throttled(StepName.Nudge, ALL),
    // A consumer that refuses the nudge (or cannot be nudged) is never left behind: rollback.
    'failed-permanent': rollsBack(ALL),
    'dead-lettered': rollsBack(ALL),
    'deadline-passed': rollsBack(ALL),
    'not-current:older': 'unchanged | send nudge#1',
    'not-current:just-committed': 'unchanged | send nudge#1',
    'not-current:same': 'unchanged | send nudge#1',
    resumed: 'unchanged | send nudge#1',
    // After promote: nudges may be going out, so the cancel is recorded and taken when the step
    // finishes (then rolled back, and the consumers are nudged back).
    'cancel-requested': `Running/nudge#1 undo[${ALL}]`,
  },
  'Running/verify': {
    succeeded: `Running/retire#1 undo[${ALL}] | send retire#1`,
    skipped: `Skipped/verify#1 undo[${ALL}] | history | release`,
    aborted: `Aborted/verify#1 undo[${ALL}] | history | release | notify Aborted`,
    unhealthy: retries(StepName.Verify, ALL),
    'failed-transient': retries(StepName.Verify, ALL),
    throttled: throttled(StepName.Verify, ALL),
    'failed-permanent': rollsBack(ALL),
    // A dead-lettered verify rolls back: the new credential was never confirmed.
    'dead-lettered': rollsBack(ALL),
    'deadline-passed': rollsBack(ALL),
    'not-current:older': 'unchanged | send verify#1',
    'not-current:just-committed': 'unchanged | send verify#1',
    'not-current:same': 'unchanged | send verify#1',
    resumed: 'unchanged | send verify#1',
    // After promote, verify pending: rolled back at once (verify changes nothing).
    'cancel-requested': `RollingBack/rollback#1 undo[${ALL}] | send rollback#1`,
  },
  'Running/retire': {
    succeeded: `Running/revoke#1 undo[${ALL}] | send revoke#1 +${REVOKE_AFTER}ms`,
    skipped: `Skipped/retire#1 undo[${ALL}] | history | release`,
    aborted: `Aborted/retire#1 undo[${ALL}] | history | release | notify Aborted`,
    unhealthy: retries(StepName.Retire, ALL),
    'failed-transient': retries(StepName.Retire, ALL),
    throttled: throttled(StepName.Retire, ALL),
    'failed-permanent': fails(StepName.Retire, ALL),
    // After verify the new credential stands: a dead letter ends Failed, never a rollback.
    'dead-lettered': fails(StepName.Retire, ALL),
    'deadline-passed': fails(StepName.Retire, ALL),
    'not-current:older': 'unchanged | send retire#1',
    'not-current:just-committed': 'unchanged | send retire#1',
    'not-current:same': 'unchanged | send retire#1',
    resumed: 'unchanged | send retire#1',
    // Verify passed: the new credential stands (I8).
    'cancel-requested': 'unchanged',
  },
  'Running/revoke': {
    succeeded: `Completed/revoke#1 undo[${ALL}] | history | release | notify Completed`,
    skipped: `Skipped/revoke#1 undo[${ALL}] | history | release`,
    aborted: `Aborted/revoke#1 undo[${ALL}] | history | release | notify Aborted`,
    unhealthy: retries(StepName.Revoke, ALL),
    'failed-transient': retries(StepName.Revoke, ALL),
    throttled: throttled(StepName.Revoke, ALL),
    'failed-permanent': fails(StepName.Revoke, ALL),
    // The old credential may already be revoked at the provider: restoring it would be an outage.
    'dead-lettered': fails(StepName.Revoke, ALL),
    'deadline-passed': fails(StepName.Revoke, ALL),
    'not-current:older': 'unchanged | send revoke#1',
    'not-current:just-committed': 'unchanged | send revoke#1',
    'not-current:same': 'unchanged | send revoke#1',
    resumed: 'unchanged | send revoke#1',
    'cancel-requested': 'unchanged',
  },
  'RollingBack/rollback': {
    succeeded: `RolledBack/rollback#1 undo[${ALL}] | history | release | notify RolledBack`,
    skipped: `Skipped/rollback#1 undo[${ALL}] | history | release`,
    aborted: `Aborted/rollback#1 undo[${ALL}] | history | release | notify Aborted`,
    unhealthy: rollbackRetries,
    'failed-transient': rollbackRetries,
    throttled: throttled(StepName.Rollback, ALL, 'RollingBack'),
    'failed-permanent': fails(StepName.Rollback, ALL),
    'dead-lettered': fails(StepName.Rollback, ALL),
    // Rollback runs however late it is.
    'deadline-passed': 'unchanged',
    'not-current:older': 'unchanged | send rollback#1',
    'not-current:just-committed': 'unchanged | send rollback#1',
    'not-current:same': 'unchanged | send rollback#1',
    resumed: 'unchanged | send rollback#1',
    'cancel-requested': 'unchanged',
  },
};

const steps = Object.values(StepName);
const ended = [RotationStatus.Completed, RotationStatus.RolledBack, RotationStatus.Failed, RotationStatus.Aborted, RotationStatus.Skipped, RotationStatus.Cancelled];
const endNotice: Record<(typeof ended)[number], string> = {
  Completed: ' | notify Completed',
  RolledBack: ' | notify RolledBack',
  Failed: ' | notify Failed',
  Aborted: ' | notify Aborted',
  Skipped: '',
  Cancelled: ' | notify Cancelled',
};

/** An ended rotation only repeats what followed its end (its own last message redelivered) and releases its lock on resume. */
function endedRow(status: (typeof ended)[number], step: StepName, name: EventName): string {
  if (name === 'resumed') return 'unchanged | release';
  if (name !== 'not-current:same') return 'unchanged';
  return `unchanged | history | release${endNotice[status]}`;
}

describe('advance: every (status, step, event)', () => {
  const liveRows = Object.entries(live).flatMap(([pair, row]) => eventNames.map((name) => [pair, name, row[name]] as const));
  it.each(liveRows)('%s on %s → %s', (pair, name, expected) => {
    const [status, step] = pair.split('/') as [RotationStatus, StepName];
    expect(run(status, step, name)).toBe(expected);
  });

  const endedRows = ended.flatMap((status) => steps.flatMap((step) => eventNames.map((name) => [`${status}/${step}`, name, endedRow(status, step, name)] as const)));
  it.each(endedRows)('%s on %s → %s', (pair, name, expected) => {
    const [status, step] = pair.split('/') as [RotationStatus, StepName];
    expect(run(status, step, name)).toBe(expected);
  });

  it('lists every live (status, step) a rotation can reach, and no other', () => {
    // Prepare: walk every outcome from begin, breadth first
    const reached = new Set<string>();
    const queue: Rotation[] = [rotationAt(RotationStatus.Running, StepName.Begin)];
    while (queue.length > 0) {
      const rotation = queue.shift()!;
      const pair = `${rotation.status}/${rotation.step}`;
      if (reached.has(pair) || rotation.status === RotationStatus.Completed || ended.includes(rotation.status as never)) continue;
      reached.add(pair);
      for (const name of eventNames) {
        const { event, now } = eventFor(name, rotation);
        queue.push(advance(rotation, event, new Date(now), 0, rules).rotation);
      }
    }

    // Assess
    expect([...reached].sort()).toEqual(Object.keys(live).sort());
  });
});

describe('advance: details the table does not show', () => {
  it('gives a dead-lettered retire a reason naming the dead letter and keeps the verified version', () => {
    // Prepare
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Retire), versions: { previous: 'v1', promoted: 'v2' } };

    // Act
    const { rotation: next } = advance(rotation, { kind: 'dead-lettered', step: StepName.Retire, attempt: 1, reason: 'MaxDeliveryCountExceeded' }, new Date(NOW), 0, rules);

    // Assess
    expect(next.status).toBe('Failed');
    expect(next.reason).toContain('MaxDeliveryCountExceeded');
    expect(next.versions).toEqual({ previous: 'v1', promoted: 'v2' });
    expect(next.steps.at(-1)).toMatchObject({ step: 'retire', outcome: 'failed', error: { code: 'DeadLettered' } });
  });

  it('ignores a dead letter for a message the record is past', () => {
    const rotation = rotationAt(RotationStatus.Running, StepName.Verify);
    const result = advance(rotation, { kind: 'dead-lettered', step: StepName.Promote, attempt: 1, reason: 'late' }, new Date(NOW), 0, rules);
    expect(result).toEqual({ rotation, effects: [] });
  });

  it('sets the deadline at begin from the policy it read: budget, grace and revoke-after', () => {
    const rotation = rotationAt(RotationStatus.Running, StepName.Begin);
    const { event, now } = eventFor('succeeded', rotation);
    const { rotation: next } = advance(rotation, event, new Date(now), 0, rules);
    expect(Date.parse(next.deadline)).toBe(T0 + rules.rotationBudgetMs + GRACE + REVOKE_AFTER);
  });

  it('gives up after the last attempt instead of retrying', () => {
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Verify), attempt: 3 };
    const { rotation: next } = advance(rotation, eventFor('unhealthy', rotation).event, new Date(NOW), 0, rules);
    expect(next).toMatchObject({ status: 'RollingBack', step: 'rollback' });
    expect(next.reason).toContain('after 3 attempts');
  });

  it('sends verify at once after the nudge when every declared consumer reports, instead of waiting the grace', () => {
    const adoption = { timeoutMs: 60_000, consumers: [{ entry: 'https://a.example.com/c', kind: 'https' as const, state: 'declared' as const }] };
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Nudge), adoption };

    const { rotation: next, effects } = advance(rotation, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'succeeded' } }, new Date(NOW), 0, rules);

    expect(next.step).toBe('verify');
    expect(effects.map((e) => describeEffect(e, NOW))).toEqual(['send verify#1']);
  });

  it('waits the grace when a declared consumer cannot report (a Container App)', () => {
    const adoption = {
      timeoutMs: 60_000,
      consumers: [
        { entry: 'https://a.example.com/c', kind: 'https' as const, state: 'declared' as const },
        { entry: 'containerapp:/x', kind: 'containerapp' as const, state: 'declared' as const },
      ],
    };
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Nudge), adoption };

    const { effects } = advance(rotation, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'succeeded' } }, new Date(NOW), 0, rules);

    expect(effects.map((e) => describeEffect(e, NOW))).toContain(`send verify#2`.replace('#2', '#1') + ` +${GRACE}ms`);
  });

  it('polls adoption with backoff bounded by the adoption deadline, and polls do not count as failed attempts', () => {
    // Prepare: verify has polled 5 times already; maxStepAttempts is 3
    const waited = Array.from({ length: 5 }, (_, i) => ({ ...record(StepName.Verify, 'waiting'), attempt: i + 1 }));
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Verify), attempt: 6, steps: [record(StepName.Nudge), ...waited] };

    // Act
    const waiting = advance(rotation, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'waiting', reason: 'behind', maxDelayMs: 100 } }, new Date(NOW), 0, rules);
    const unhealthy = advance(rotation, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'unhealthy', reason: 'probe 503' } }, new Date(NOW), 0, rules);

    // Assess
    expect(waiting.rotation).toMatchObject({ status: 'Running', step: 'verify', attempt: 7 });
    expect(waiting.rotation.steps.at(-1)).toMatchObject({ outcome: 'waiting', detail: 'behind' });
    expect(waiting.effects.map((e) => describeEffect(e, NOW))).toContain('send verify#7 +100ms');
    expect(unhealthy.rotation).toMatchObject({ status: 'Running', step: 'verify', attempt: 7 });
  });

  it('does not count throttled tries against the attempts: a step throttled more often than maxStepAttempts still retries', () => {
    // Prepare: promote was throttled 4 times already; maxStepAttempts is 3
    const throttledTries = Array.from({ length: 4 }, (_, i) => ({ ...record(StepName.Promote, 'throttled'), attempt: i + 1 }));
    const rotation = { ...rotationAt(RotationStatus.Running, StepName.Promote), attempt: 5, steps: [record(StepName.Apply), ...throttledTries] };
    const finished = (outcome: Extract<MachineEvent, { kind: 'step-finished' }>['outcome']): MachineEvent => ({ kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome });

    // Act
    const again = advance(rotation, finished({ kind: 'throttled', reason: '429', retryAfterMs: THROTTLED_FOR }), new Date(NOW), 0, rules);
    const transient = advance(rotation, finished({ kind: 'failed', code: RotationErrorCode.VaultUnavailable, message: '503' }), new Date(NOW), 0, rules);

    // Assess: the throttle is kept; a real failure is the first real try of three
    expect(again.rotation).toMatchObject({ status: 'Running', step: 'promote', attempt: 6, notBefore: new Date(NOW + THROTTLED_FOR).toISOString() });
    expect(again.rotation.steps.at(-1)).toMatchObject({ outcome: 'throttled', error: { code: 'VaultThrottled', message: '429' } });
    expect(transient.rotation).toMatchObject({ status: 'Running', step: 'promote', attempt: 6 });
    expect(transient.rotation.steps.at(-1)).toMatchObject({ outcome: 'retrying' });
  });

  it('ends a step throttled past the deadline as the deadline would: rollback after a change, Failed before', () => {
    // Prepare: 1 s before the deadline, Key Vault says come back in 2.5 s
    const at = (step: StepName): Rotation => ({ ...rotationAt(RotationStatus.Running, step), deadline: new Date(NOW + 1_000).toISOString() });
    const throttledEvent: MachineEvent = { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'throttled', reason: '429', retryAfterMs: THROTTLED_FOR } };

    // Act
    const begin = advance(at(StepName.Begin), throttledEvent, new Date(NOW), 0, rules).rotation;
    const promote = advance(at(StepName.Promote), throttledEvent, new Date(NOW), 0, rules).rotation;

    // Assess
    expect(begin).toMatchObject({ status: 'Failed', step: 'begin' });
    expect(begin.reason).toContain('DeadlineExceeded');
    expect(begin.steps.at(-1)).toMatchObject({ outcome: 'failed', error: { code: 'DeadlineExceeded' } });
    // promote may have written before the throttled call: its undo record goes on the stack.
    expect(promote).toMatchObject({ status: 'RollingBack', step: 'rollback', undo: [...undoAt.promote, { step: 'promote', action: 'promoted', refs: {} }] });
  });

  it('goes from begin straight to promote for a rotator with nothing at a provider, and rolls back a promote that failed with nothing stacked', () => {
    // Prepare: random is single, without apply or restore: no prepare step, no pending version
    const direct: MachineRules = { ...rules, hasApply: () => false, writesDirectly: (rotator) => rotator === 'random' };
    const randomPolicy: RotationPolicy = { ...policy, rotator: 'random', revokeAfterMs: undefined, tags: { 'rotor-rotator': 'random' } };
    const begin = rotationAt(RotationStatus.Running, StepName.Begin);
    const succeeded: MachineEvent = { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'succeeded' }, patch: { policy: randomPolicy, versions: { previous: 'v1' } } };

    // Act
    const afterBegin = advance(begin, succeeded, new Date(NOW), 0, direct);
    const deadLettered = advance(afterBegin.rotation, { kind: 'dead-lettered', step: StepName.Promote, attempt: 1, reason: 'MaxDeliveryCountExceeded' }, new Date(NOW), 0, direct);

    // Assess: a dead-lettered promote may have written its version: it is undone
    expect(afterBegin.effects.map((e) => describeEffect(e, NOW))).toEqual(['send promote#1', 'notify Started']);
    expect(deadLettered.rotation).toMatchObject({ status: 'RollingBack', step: 'rollback', undo: [{ step: 'promote', action: 'promoted', refs: {} }] });
  });

  it.each([
    ['fake-alternating', Strategy.Alternating, 'promote'],
    ['webhook', Strategy.Alternating, 'prepare'],
    ['random', Strategy.Single, 'promote'],
    ['single-apply', Strategy.Single, 'prepare'],
  ] as const)('after begin, %s (%s) goes to %s: the rules say which rotations write directly, by rotator and strategy', (rotator, strategy, expected) => {
    // Prepare: as the engine decides (steps/context.ts writesDirectly): alternating unless restore needs the pending value
    const direct: MachineRules = { ...rules, writesDirectly: (name, s) => (s === Strategy.Alternating ? name !== 'webhook' : name === 'random') };
    const begun: RotationPolicy = { ...policy, rotator, strategy, revokeAfterMs: undefined, tags: { 'rotor-rotator': rotator } };
    const succeeded: MachineEvent = { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'succeeded' }, patch: { policy: begun, versions: { previous: 'v1' } } };

    // Act
    const afterBegin = advance(rotationAt(RotationStatus.Running, StepName.Begin), succeeded, new Date(NOW), 0, direct);

    // Assess
    expect(afterBegin.rotation).toMatchObject({ status: 'Running', step: expected, attempt: 1 });
  });

  it('ends Failed, rolling nothing back, when promote failed for good before it changed anything (the rotator\'s prepare)', () => {
    // Prepare
    const direct: MachineRules = { ...rules, writesDirectly: () => true };
    const begun: Rotation = { ...rotationAt(RotationStatus.Running, StepName.Promote), undo: [] };
    const refused: StepOutcome = { kind: 'failed', code: RotationErrorCode.ProviderRejected, message: 'HTTP 422', unchanged: true };
    const maybe: StepOutcome = { kind: 'failed', code: RotationErrorCode.ProviderRejected, message: 'HTTP 422' };

    // Act
    const unchanged = advance(begun, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: refused }, new Date(NOW), 0, direct);
    const unknown = advance(begun, { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: maybe }, new Date(NOW), 0, direct);

    // Assess
    expect(unchanged.rotation).toMatchObject({ status: 'Failed', step: 'promote', undo: [] });
    expect(unknown.rotation).toMatchObject({ status: 'RollingBack', step: 'rollback', undo: [{ step: 'promote', action: 'promoted', refs: {} }] });
  });

  it('counts the adoption timeout into the deadline when it is longer than the grace', () => {
    const rotation = rotationAt(RotationStatus.Running, StepName.Begin);
    const longer = { ...policy, adoptionTimeoutMs: GRACE * 10 };
    const { rotation: next } = advance(
      rotation,
      { kind: 'step-finished', startedAt: new Date(NOW).toISOString(), outcome: { kind: 'succeeded' }, patch: { policy: longer, versions: { previous: 'v1' } } },
      new Date(NOW),
      0,
      rules,
    );
    expect(Date.parse(next.deadline)).toBe(T0 + rules.rotationBudgetMs + GRACE * 10 + REVOKE_AFTER);
  });
});
