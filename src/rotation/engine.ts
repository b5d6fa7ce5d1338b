import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import type { CancelRotation } from './cancel-types.js';
import { isStepError, toRotationError } from './errors.js';
import { isLedgerConflictError } from '../ledger/errors.js';
import { advance, cancelStage, isPastDeadline, type Advanced, type Effect, type MachineEvent, type MachineRules } from './machine.js';
import { isTerminal, RotationStatus, type Rotation } from './model.js';
import { systemClock, type AuditEntry, type StepMessage, type Versioned } from './ports.js';
import { defaultEngineSettings, type EngineSettings, type RotationEngine, type RotationEngineDeps, type StepDelivery, type StepHandling } from './engine-types.js';
import { createStartRotation } from './start.js';
import { FailedUnchanged } from './steps/context.js';
import { createRotationSteps, type RotationPatch, type StepResult } from './steps/index.js';

export { defaultEngineSettings, type EngineSettings, type RotationEngine, type RotationEngineDeps, type StepHandling } from './engine-types.js';

/**
 * The rotation engine, an interpreter of the machine (`machine.ts`): load the
 * record, run the step, `advance`, persist the new record (the commit point),
 * then perform the effects. Dead letters, late messages and the sweep's resume
 * go through the same `advance`. A redelivered message the record is past
 * only repeats the effects of what was committed (duplicate detection drops a
 * re-sent message), so a crash between any two writes is recovered by
 * redelivery (I4).
 */
export function createRotationEngine(deps: RotationEngineDeps): RotationEngine {
  const settings: EngineSettings = { ...defaultEngineSettings, ...deps.settings };
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const { ledger } = deps;
  const rules: MachineRules = {
    maxStepAttempts: settings.maxStepAttempts,
    backoff: settings.backoff,
    rotationBudgetMs: settings.rotationBudgetMs,
    hasApply: (rotator) => deps.rotators.get(rotator)?.apply !== undefined,
    // Promote calls the rotator itself for every registered rotator (steps/promote.ts); prepare and apply remain for rotations that began under the older plan.
    writesDirectly: (rotator) => deps.rotators.has(rotator),
  };
  const steps = createRotationSteps({
    secretStore: deps.secretStore,
    ledger,
    healthProbe: deps.healthProbe,
    rotators: deps.rotators,
    minValidityMs: settings.minValidityMs,
    rollbackRetryAfterMs: settings.rollbackRetryAfterMs,
    ...(deps.consumers === undefined ? {} : { consumers: deps.consumers }),
  });

  async function perform(effects: readonly Effect[], log: Logger = deps.logger): Promise<void> {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send-step':
          await deps.stepQueue.sendStep(effect.message, effect.notBefore === undefined ? undefined : { notBefore: new Date(effect.notBefore) });
          break;
        case 'release-lock':
          await ledger.releaseLock(effect.secret, effect.rotationId);
          break;
        case 'audit':
          await appendHistory(effect.entries, log);
          break;
        case 'notify':
          try {
            await deps.notifier.notify(effect.notification);
          } catch (error) {
            log.warn('notification not sent', { rotationId: effect.notification.rotationId, type: effect.notification.type, error: toRotationError(error) });
          }
          break;
      }
    }
  }

  /** Rotations whose history this instance has appended: a late message of an ended rotation repeats its end effects, not its history. */
  const appended = new Set<string>();

  /**
   * The audit trail, one append per rotation: its history, derived from the record. Before the lock is
   * released, so a crash in between is healed by the redelivery that releases it (at least once). A failed
   * append is logged and never holds the lock: the record, which keeps every entry, is the truth.
   */
  async function appendHistory(entries: readonly AuditEntry[], log: Logger): Promise<void> {
    const rotationId = entries[0]?.rotationId;
    if (rotationId === undefined || appended.has(rotationId)) return;
    try {
      await ledger.appendAudit(entries);
      if (appended.size >= 10_000) appended.delete(appended.values().next().value as string);
      appended.add(rotationId);
    } catch (error) {
      log.warn('audit trail not written', { rotationId, entries: entries.length, error: toRotationError(error) });
    }
  }

  /** advance → persist (when the record changed: the commit point) → effects. */
  async function commit(loaded: Versioned<Rotation>, event: MachineEvent, log: Logger): Promise<Advanced> {
    const advanced = advance(loaded.value, event, clock.now(), random(), rules);
    if (advanced.rotation !== loaded.value) await ledger.updateRotation(loaded, advanced.rotation);
    await perform(advanced.effects, log);
    return advanced;
  }

  /** Runs the current step; only translated errors are outcomes, anything else propagates (Service Bus redelivers). */
  async function runStep(loaded: Versioned<Rotation>, log: Logger, delivery: StepDelivery | undefined): Promise<{ versioned: Versioned<Rotation>; event: MachineEvent }> {
    const startedAt = clock.now();
    let versioned = loaded;
    const checkpoint = async (patch: RotationPatch): Promise<Rotation> => {
      versioned = await ledger.updateRotation(versioned, { ...versioned.value, ...patch, updatedAt: clock.now().toISOString() });
      return versioned.value;
    };
    const rotation = loaded.value;
    let result: StepResult;
    try {
      result = await steps[rotation.step]({ rotation, attempt: rotation.attempt ?? 1, now: startedAt, log, checkpoint, firstDelivery: delivery?.first === true });
    } catch (thrown) {
      // A failure before the step changed anything (steps/context.ts beforeAnyChange) says so on its outcome.
      const unchanged = thrown instanceof FailedUnchanged;
      const error = unchanged ? thrown.failure : thrown;
      if (!isStepError(error)) throw error;
      const failure = toRotationError(error);
      const throttledUntil = isSecretStoreError(error, SecretStoreErrorCode.Throttled) ? error.notBefore : undefined;
      result =
        throttledUntil === undefined
          ? {
              outcome: {
                kind: 'failed',
                code: failure.code,
                message: failure.message,
                ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
                ...(unchanged ? { unchanged: true } : {}),
              },
            }
          : // Key Vault's budget: the step is scheduled for when the vault takes calls again, never slept out here.
            { outcome: { kind: 'throttled', reason: failure.message, retryAfterMs: Math.max(0, throttledUntil.getTime() - clock.now().getTime()) } };
    }
    return { versioned, event: { kind: 'step-finished', startedAt: startedAt.toISOString(), ...result } };
  }

  async function handleStep(message: StepMessage, delivery?: StepDelivery): Promise<StepHandling> {
    const loaded = await ledger.getRotation(message.rotationId);
    const log = deps.logger.child({ rotationId: message.rotationId, secretRef: formatSecretRef(message.secret), step: message.step, attempt: message.attempt });
    if (loaded === undefined) {
      log.warn('step message for a rotation the ledger does not know; dropped');
      return { result: 'unknown-rotation' };
    }
    const rotation = loaded.value;
    const isCurrent = message.step === rotation.step && message.attempt === (rotation.attempt ?? 1);
    if (isTerminal(rotation.status) || !isCurrent) {
      await commit(loaded, { kind: 'message-not-current', step: message.step, attempt: message.attempt }, log);
      if (isTerminal(rotation.status)) {
        log.info('rotation already ended; message acknowledged', { status: rotation.status });
        return { result: 'already-ended', rotation };
      }
      log.info('step already done; current message sent again', { current: rotation.step, currentAttempt: rotation.attempt ?? 1 });
      return { result: 'stale', rotation };
    }

    const ran = isPastDeadline(rotation, clock.now()) ? { versioned: loaded, event: { kind: 'deadline-passed' } as const } : await runStep(loaded, log, delivery);
    const { rotation: next } = await commit(ran.versioned, ran.event, log);
    const record = next.steps.at(-1);
    log.info(`step ${rotation.step} ${record?.outcome ?? '?'}`, { status: next.status, next: next.step, ...(record?.error === undefined ? {} : { error: record.error.code }) });
    return { result: 'ran', rotation: next };
  }

  async function resumeRotation(rotationId: string): Promise<'resent' | 'ended' | 'not-found'> {
    const loaded = await ledger.getRotation(rotationId);
    if (loaded === undefined) return 'not-found';
    await commit(loaded, { kind: 'resumed' }, deps.logger);
    return isTerminal(loaded.value.status) ? 'ended' : 'resent';
  }

  async function failRotation(message: StepMessage, reason: string): Promise<'rolling-back' | 'failed' | 'ignored'> {
    const loaded = await ledger.getRotation(message.rotationId);
    if (loaded === undefined) return 'ignored';
    const { rotation } = await commit(loaded, { kind: 'dead-lettered', step: message.step, attempt: message.attempt, reason }, deps.logger);
    if (rotation === loaded.value) return 'ignored';
    return rotation.status === RotationStatus.RollingBack ? 'rolling-back' : 'failed';
  }

  const cancelRotation: CancelRotation = async (rotationId, options = {}) => {
    // A step committing at the same moment wins the ETag race: read again and decide again.
    for (let attempt = 1; ; attempt += 1) {
      const loaded = await ledger.getRotation(rotationId);
      if (loaded === undefined) return { outcome: 'not-found' };
      const stage = cancelStage(loaded.value);
      switch (stage) {
        case 'ended':
          return { outcome: 'ended', status: loaded.value.status };
        case 'verified':
          return { outcome: 'verified', step: loaded.value.step };
        case 'rolling-back':
          return { outcome: 'cancelling', rotationId, via: 'rollback' };
        case 'undo':
        case 'rollback':
          break;
      }
      try {
        const { rotation } = await commit(loaded, { kind: 'cancel-requested', ...(options.reason === undefined ? {} : { reason: options.reason }) }, deps.logger.child({ rotationId }));
        deps.logger.info('cancel requested', { rotationId, via: rotation.cancel?.via ?? stage, status: rotation.status, step: rotation.step });
        return { outcome: 'cancelling', rotationId, via: rotation.cancel?.via ?? stage };
      } catch (error) {
        if (!isLedgerConflictError(error) || attempt >= 5) throw error;
      }
    }
  };

  const startRotation = createStartRotation({
    secretStore: deps.secretStore,
    ledger,
    healthProbe: deps.healthProbe,
    rotators: deps.rotators,
    logger: deps.logger,
    clock,
    rules,
    minValidityMs: settings.minValidityMs,
    orphanLockMs: settings.orphanLockMs,
    duplicateWindowMs: settings.duplicateWindowMs,
    perform: (effects) => perform(effects),
  });

  return { startRotation, handleStep, resumeRotation, failRotation, cancelRotation };
}
