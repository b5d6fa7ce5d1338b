import { createHash, randomBytes } from 'node:crypto';
import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import { isLedgerConflictError } from '../ledger/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RotatorRegistry } from '../rotators/rotator.js';
import { durations } from '../time/iso-duration.js';
import { isStepError, RotationErrorCode, toRotationError } from './errors.js';
import { isTerminal, RotationStatus, StepName, Strategy, type Rotation, type RotationTrigger, type StepRecord } from './model.js';
import { policyDefaults, readPolicy } from './policy.js';
import type { RotationPolicy } from './policy-types.js';
import {
  NotificationType,
  systemClock,
  type Clock,
  type HealthProbe,
  type LockResult,
  type Notifier,
  type RotationLedger,
  type SecretStore,
  type StepMessage,
  type StepQueue,
  type Versioned,
} from './ports.js';
import type { DryRunReport, StartRotation, StartRotationResult } from './start-types.js';
import { createRotationSteps, undoIfAttempted, type RotationPatch, type StepResult } from './steps.js';
import { transition, type BackoffSettings, type StepOutcome, type StepPlan, type Transition } from './transitions.js';

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
}

export type StepHandling =
  /** The step ran and its outcome is recorded. */
  | { readonly result: 'ran'; readonly rotation: Rotation }
  /** The ledger is past this message (a redelivery or an older attempt): the current message was sent again, nothing else. */
  | { readonly result: 'stale'; readonly rotation: Rotation }
  | { readonly result: 'already-ended'; readonly rotation: Rotation }
  | { readonly result: 'unknown-rotation' };

export interface RotationEngine {
  readonly startRotation: StartRotation;
  /** Runs the step a message names. Throws only when the ledger or queue fails; the message is then redelivered. */
  handleStep(message: StepMessage): Promise<StepHandling>;
  /** Sends the current step's message again (the sweep, for rotations past their deadline or whose message was lost). */
  resumeRotation(rotationId: string): Promise<'resent' | 'ended' | 'not-found'>;
  /**
   * For the dead-letter handler: a message that could not be processed ends its
   * rotation — by rollback when the world changed, Failed otherwise. A message
   * the ledger is already past is ignored.
   */
  failRotation(message: StepMessage, reason: string): Promise<'rolling-back' | 'failed' | 'ignored'>;
}

/**
 * The rotation engine: `startRotation` for the ways in, `handleStep` for the
 * step handler. The ledger record is each step's commit point; the message for
 * the next step is sent after it, and a redelivered message whose step the
 * ledger shows done only sends that message again (duplicate detection drops
 * it), so a crash between any two writes is recovered by redelivery (I4).
 */
export function createRotationEngine(deps: RotationEngineDeps): RotationEngine {
  const settings: EngineSettings = { ...defaultEngineSettings, ...deps.settings };
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const { ledger, stepQueue, notifier, secretStore } = deps;
  const steps = createRotationSteps({
    secretStore,
    ledger,
    healthProbe: deps.healthProbe,
    rotators: deps.rotators,
    minValidityMs: settings.minValidityMs,
    rollbackRetryAfterMs: settings.rollbackRetryAfterMs,
  });

  const iso = (ms: number): string => new Date(ms).toISOString();

  function currentMessage(rotation: Rotation): StepMessage {
    return { rotationId: rotation.id, secret: rotation.secret, step: rotation.step, attempt: rotation.attempt ?? 1 };
  }

  async function sendCurrent(rotation: Rotation): Promise<void> {
    const notBefore = rotation.notBefore === undefined ? undefined : new Date(rotation.notBefore);
    const due = notBefore !== undefined && notBefore.getTime() > clock.now().getTime();
    await stepQueue.sendStep(currentMessage(rotation), due ? { notBefore } : undefined);
  }

  async function notify(rotation: Rotation, type: NotificationType): Promise<void> {
    try {
      await notifier.notify({
        type,
        rotationId: rotation.id,
        secret: rotation.secret,
        status: rotation.status,
        versions: rotation.versions,
        ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
        ...(rotation.endedAt === undefined ? {} : { durationMs: Date.parse(rotation.endedAt) - Date.parse(rotation.createdAt) }),
      });
    } catch (error) {
      deps.logger.warn('notification not sent', { rotationId: rotation.id, type, error: toRotationError(error) });
    }
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
      case RotationStatus.Skipped:
      case RotationStatus.Running:
      case RotationStatus.RollingBack:
        return undefined;
    }
  }

  /** What follows an ended rotation; repeated (at least once) when its last message is redelivered. */
  async function finish(rotation: Rotation): Promise<void> {
    await ledger.releaseLock(rotation.secret, rotation.id);
    const type = endNotification(rotation.status);
    if (type !== undefined) await notify(rotation, type);
  }

  function planOf(policy: RotationPolicy | undefined): StepPlan {
    const rotator = policy === undefined ? undefined : deps.rotators.get(policy.rotator);
    return {
      strategy: policy?.strategy ?? Strategy.Single,
      hasApply: rotator?.apply !== undefined,
      graceMs: policy?.graceMs ?? 0,
      ...(policy?.revokeAfterMs === undefined ? {} : { revokeAfterMs: policy.revokeAfterMs }),
    };
  }

  function deadlineFor(startMs: number, policy: RotationPolicy | undefined): string {
    return iso(startMs + settings.rotationBudgetMs + (policy?.graceMs ?? policyDefaults.graceMs) + (policy?.revokeAfterMs ?? 0));
  }

  function stepRecord(rotation: Rotation, outcome: StepOutcome, t: Transition, startedAt: Date): StepRecord {
    const base = { step: rotation.step, attempt: rotation.attempt ?? 1, startedAt: startedAt.toISOString(), endedAt: clock.now().toISOString() };
    switch (outcome.kind) {
      case 'succeeded':
        return { ...base, outcome: 'succeeded', ...(outcome.detail === undefined ? {} : { detail: outcome.detail }) };
      case 'skipped':
        return { ...base, outcome: 'succeeded', detail: `skipped: ${outcome.reason}` };
      case 'aborted':
        return { ...base, outcome: 'failed', error: { code: RotationErrorCode.Unhealthy, message: outcome.reason } };
      case 'unhealthy':
        return { ...base, outcome: t.kind === 'retry' ? 'retrying' : 'failed', error: { code: RotationErrorCode.Unhealthy, message: outcome.reason } };
      case 'failed':
        return { ...base, outcome: t.kind === 'retry' ? 'retrying' : 'failed', error: { code: outcome.code, message: outcome.message } };
    }
  }

  function without<K extends keyof Rotation>(rotation: Rotation, key: K): Rotation {
    const copy = { ...rotation };
    delete copy[key];
    return copy;
  }

  /** The record after a step: its history, its patch (on success), and where the machine goes next. */
  function nextRecord(rotation: Rotation, result: StepResult, t: Transition, record: StepRecord, now: Date): Rotation {
    const succeeded = result.outcome.kind === 'succeeded';
    let next: Rotation = {
      ...rotation,
      ...(succeeded ? result.patch : {}),
      steps: [...rotation.steps, record],
      undo: succeeded && result.undo !== undefined ? [...rotation.undo, result.undo] : rotation.undo,
      updatedAt: now.toISOString(),
    };
    if (rotation.step === StepName.Begin && succeeded) next = { ...next, deadline: deadlineFor(Date.parse(rotation.createdAt), next.policy) };
    switch (t.kind) {
      case 'advance': {
        const attempted = t.step === StepName.Rollback ? undoIfAttempted(rotation.step) : undefined;
        next = without({ ...next, status: t.status, step: t.step, attempt: 1, ...(t.reason === undefined ? {} : { reason: t.reason }) }, 'notBefore');
        if (attempted !== undefined && !succeeded) next = { ...next, undo: [...next.undo, attempted] };
        return t.delayMs > 0 ? { ...next, notBefore: iso(now.getTime() + t.delayMs) } : next;
      }
      case 'retry':
        return { ...next, attempt: t.attempt, notBefore: iso(now.getTime() + t.delayMs) };
      case 'end':
        return without(
          {
            ...next,
            status: t.status,
            endedAt: now.toISOString(),
            ...(t.reason === undefined ? {} : { reason: t.reason }),
          },
          'notBefore',
        );
    }
  }

  async function handleStep(message: StepMessage): Promise<StepHandling> {
    const loaded = await ledger.getRotation(message.rotationId);
    const log = deps.logger.child({ rotationId: message.rotationId, secretRef: formatSecretRef(message.secret), step: message.step, attempt: message.attempt });
    if (loaded === undefined) {
      log.warn('step message for a rotation the ledger does not know; dropped');
      return { result: 'unknown-rotation' };
    }
    const rotation = loaded.value;
    const isCurrent = message.step === rotation.step && message.attempt === (rotation.attempt ?? 1);
    if (isTerminal(rotation.status)) {
      if (isCurrent) await finish(rotation);
      log.info('rotation already ended; message acknowledged', { status: rotation.status });
      return { result: 'already-ended', rotation };
    }
    if (!isCurrent) {
      // The message whose outcome the ledger recorded last: its follow-ups may have been cut short by a crash.
      const last = rotation.steps.at(-1);
      const justCommitted = last !== undefined && last.step === message.step && last.attempt === message.attempt;
      await sendCurrent(rotation);
      if (justCommitted && last.outcome === 'succeeded' && message.step === StepName.Begin) await notify(rotation, NotificationType.Started);
      log.info('step already done; current message sent again', { current: rotation.step, currentAttempt: rotation.attempt ?? 1 });
      return { result: 'stale', rotation };
    }

    const startedAt = clock.now();
    let versioned: Versioned<Rotation> = loaded;
    const checkpoint = async (patch: RotationPatch): Promise<Rotation> => {
      versioned = await ledger.updateRotation(versioned, { ...versioned.value, ...patch, updatedAt: clock.now().toISOString() });
      return versioned.value;
    };
    let result: StepResult;
    if (startedAt.getTime() > Date.parse(rotation.deadline) && rotation.step !== StepName.Rollback) {
      result = { outcome: { kind: 'failed', code: RotationErrorCode.DeadlineExceeded, message: `the rotation passed its deadline ${rotation.deadline}` } };
    } else {
      try {
        result = await steps[rotation.step]({ rotation, attempt: rotation.attempt ?? 1, now: startedAt, log, checkpoint });
      } catch (error) {
        // Only translated errors are step outcomes. Anything else (ledger trouble, a bug, a
        // crash) propagates: Service Bus redelivers, and after its max deliveries dead-letters.
        if (!isStepError(error)) throw error;
        const failure = toRotationError(error);
        result = { outcome: { kind: 'failed', code: failure.code, message: failure.message } };
      }
    }

    const current = versioned.value;
    const patched: Rotation = result.outcome.kind === 'succeeded' ? { ...current, ...result.patch } : current;
    const now = clock.now();
    // begin learns the policy, and with it the deadline (grace and revoke-after count in).
    const deadline = current.step === StepName.Begin ? deadlineFor(Date.parse(current.createdAt), patched.policy) : current.deadline;
    const t = transition({
      status: current.status,
      step: current.step,
      attempt: current.attempt ?? 1,
      undoCount: current.undo.length + (result.undo === undefined ? 0 : 1),
      plan: planOf(patched.policy),
      outcome: result.outcome,
      maxAttempts: settings.maxStepAttempts,
      backoff: settings.backoff,
      remainingMs: Date.parse(deadline) - now.getTime(),
      jitter: random(),
    });
    const record = stepRecord(current, result.outcome, t, startedAt);
    const next = nextRecord(current, result, t, record, now);

    await ledger.appendAudit({
      at: now.toISOString(),
      rotationId: current.id,
      secret: current.secret,
      event: `step.${current.step}.${record.outcome}`,
      detail: { attempt: record.attempt, status: next.status, next: next.step, ...(record.error === undefined ? {} : { error: record.error.code }) },
    });
    await ledger.updateRotation(versioned, next);
    log.info(`step ${current.step} ${record.outcome}`, { status: next.status, next: next.step, ...(record.error === undefined ? {} : { error: record.error.code }) });

    if (isTerminal(next.status)) {
      await finish(next);
    } else {
      await sendCurrent(next);
      if (current.step === StepName.Begin && next.step !== StepName.Begin) await notify(next, NotificationType.Started);
    }
    return { result: 'ran', rotation: next };
  }

  async function takeLock(secret: SecretRef, rotationId: string): Promise<LockResult> {
    const first = await ledger.acquireLock(secret, rotationId);
    if (first.acquired) return first;
    const holder = await ledger.getRotation(first.heldBy);
    const orphaned =
      holder === undefined && first.since !== undefined && clock.now().getTime() - Date.parse(first.since) > settings.orphanLockMs;
    if (!orphaned && !(holder !== undefined && isTerminal(holder.value.status))) return first;
    deps.logger.warn('breaking a stale lock', { secretRef: formatSecretRef(secret), heldBy: first.heldBy, holder: holder?.value.status ?? 'no record' });
    await ledger.releaseLock(secret, first.heldBy);
    return ledger.acquireLock(secret, rotationId);
  }

  function rotationIdFor(secret: SecretRef, trigger: RotationTrigger, nowMs: number): string {
    if (trigger.kind === 'manual' || (trigger.version === undefined && trigger.eventId === undefined)) return randomBytes(16).toString('hex');
    const window = Math.floor(nowMs / settings.duplicateWindowMs);
    const key = `${formatSecretRef(secret).toLowerCase()}@${trigger.version ?? `event:${trigger.eventId ?? ''}`}@${window}`;
    return createHash('sha256').update(key).digest('hex').slice(0, 32);
  }

  async function dryRun(secret: SecretRef, latestVersion: string, policy: RotationPolicy): Promise<DryRunReport> {
    const checks: { name: string; ok: boolean; detail?: string }[] = [{ name: 'policy', ok: true, detail: `rotator ${policy.rotator}, strategy ${policy.strategy}` }];
    const active = await ledger.activeRotation(secret);
    checks.push(active === undefined ? { name: 'lock', ok: true, detail: 'no rotation active' } : { name: 'lock', ok: false, detail: `rotation ${active} is active` });
    const health = await deps.healthProbe.check(policy.health);
    checks.push(
      health.healthy
        ? { name: 'health', ok: true, detail: `${policy.health.length} probe(s) healthy` }
        : { name: 'health', ok: false, detail: health.reason },
    );
    const plan = planOf(policy);
    const path = [
      `prepare${policy.strategy === 'alternating' ? ' the inactive slot' : ''}`,
      ...(plan.hasApply && policy.strategy === 'single' ? ['apply at the provider'] : []),
      `promote (expires in ${Math.round(policy.validityMs / durations.DAY)} days)`,
      `verify after ${Math.round(policy.graceMs / 1000)} s`,
      policy.revokeAfterMs === undefined ? 'retire' : `retire, revoke after ${Math.round(policy.revokeAfterMs / 1000)} s`,
    ];
    const wouldRotate = checks.every((c) => c.ok);
    return {
      secret,
      currentVersion: latestVersion,
      rotator: policy.rotator,
      strategy: policy.strategy,
      wouldRotate,
      summary: wouldRotate ? `would ${path.join(', ')}` : `would not rotate: ${checks.filter((c) => !c.ok).map((c) => c.detail ?? c.name).join('; ')}`,
      checks,
    };
  }

  const startRotation: StartRotation = async (secretInput, trigger, options) => {
    const secret: SecretRef = { vaultUrl: new URL(secretInput.vaultUrl).origin, name: secretInput.name };
    let latest;
    try {
      latest = await secretStore.getLatest(secret);
    } catch (error) {
      if (isSecretStoreError(error, SecretStoreErrorCode.SecretDisabled)) {
        return { outcome: 'invalid-policy', problems: [{ tag: '(latest version)', message: 'the latest version is disabled; enable it or write a new one before rotating' }] };
      }
      throw error;
    }
    if (latest === undefined) return { outcome: 'not-found' };
    const reading = readPolicy(latest.tags, { rotators: deps.rotators, minValidityMs: settings.minValidityMs });
    if (reading.kind === 'unmanaged') return { outcome: 'not-managed' };
    if (reading.kind === 'invalid') return { outcome: 'invalid-policy', problems: reading.problems };
    if (trigger.version !== undefined && trigger.version !== latest.version) return { outcome: 'stale', latestVersion: latest.version };
    if (options?.dryRun === true) return { outcome: 'dry-run', report: await dryRun(secret, latest.version, reading.policy) };

    const now = clock.now();
    const id = rotationIdFor(secret, trigger, now.getTime());
    const existing = await ledger.getRotation(id);
    if (existing !== undefined) return duplicate(existing.value);

    const lock = await takeLock(secret, id);
    if (!lock.acquired) return { outcome: 'busy', activeRotationId: lock.heldBy };
    const rotation: Rotation = {
      id,
      secret,
      trigger,
      rotator: reading.policy.rotator,
      strategy: reading.policy.strategy,
      status: RotationStatus.Running,
      step: StepName.Begin,
      attempt: 1,
      dryRun: false,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      deadline: deadlineFor(now.getTime(), reading.policy),
      versions: {},
      steps: [],
      undo: [],
    };
    try {
      await ledger.createRotation(rotation);
    } catch (error) {
      if (!isLedgerConflictError(error)) throw error;
      const twin = await ledger.getRotation(id);
      return twin === undefined ? { outcome: 'duplicate', rotationId: id } : duplicate(twin.value);
    }
    await ledger.appendAudit({ at: now.toISOString(), rotationId: id, secret, event: 'rotation.created', detail: { trigger: trigger.kind, rotator: rotation.rotator } });
    await sendCurrent(rotation);
    deps.logger.info('rotation started', { rotationId: id, secretRef: formatSecretRef(secret), trigger: trigger.kind });
    return { outcome: 'started', rotationId: id };
  };

  /** A second start for the same trigger; if the first never got its begin message out (a crash), it is sent now. */
  async function duplicate(existing: Rotation): Promise<StartRotationResult> {
    if (!isTerminal(existing.status) && existing.step === StepName.Begin && existing.steps.length === 0) await sendCurrent(existing);
    return { outcome: 'duplicate', rotationId: existing.id };
  }

  async function resumeRotation(rotationId: string): Promise<'resent' | 'ended' | 'not-found'> {
    const loaded = await ledger.getRotation(rotationId);
    if (loaded === undefined) return 'not-found';
    if (isTerminal(loaded.value.status)) {
      await ledger.releaseLock(loaded.value.secret, rotationId);
      return 'ended';
    }
    await sendCurrent(loaded.value);
    return 'resent';
  }

  async function failRotation(message: StepMessage, reason: string): Promise<'rolling-back' | 'failed' | 'ignored'> {
    const loaded = await ledger.getRotation(message.rotationId);
    if (loaded === undefined) return 'ignored';
    const rotation = loaded.value;
    const isCurrent = message.step === rotation.step && message.attempt === (rotation.attempt ?? 1);
    if (isTerminal(rotation.status) || !isCurrent) return 'ignored';
    const now = clock.now();
    const failed: StepRecord = {
      step: rotation.step,
      attempt: rotation.attempt ?? 1,
      startedAt: now.toISOString(),
      endedAt: now.toISOString(),
      outcome: 'failed',
      error: { code: 'DeadLettered', message: reason },
    };
    const rollBack = rotation.step !== StepName.Rollback && rotation.status === RotationStatus.Running && rotation.undo.length > 0;
    const attempted = rollBack ? undoIfAttempted(rotation.step) : undefined;
    const base = without({ ...rotation, steps: [...rotation.steps, failed], updatedAt: now.toISOString(), reason: `dead-lettered at ${rotation.step}: ${reason}` }, 'notBefore');
    const next: Rotation = rollBack
      ? { ...base, status: RotationStatus.RollingBack, step: StepName.Rollback, attempt: 1, undo: attempted === undefined ? base.undo : [...base.undo, attempted] }
      : { ...base, status: RotationStatus.Failed, endedAt: now.toISOString() };
    await ledger.updateRotation(loaded, next);
    if (rollBack) {
      await sendCurrent(next);
      return 'rolling-back';
    }
    await finish(next);
    return 'failed';
  }

  return { startRotation, handleStep, resumeRotation, failRotation };
}
