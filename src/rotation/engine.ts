import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import type { RotatorRegistry } from './rotator.js';
import { durations } from '../time/iso-duration.js';
import type { CancelRotation } from './cancel-types.js';
import { isStepError, toRotationError } from './errors.js';
import { isLedgerConflictError } from '../ledger/errors.js';
import { advance, cancelStage, isPastDeadline, type Advanced, type Effect, type MachineEvent, type MachineRules } from './machine.js';
import { isTerminal, RotationStatus, type Rotation } from './model.js';
import { policyDefaults } from './policy.js';
import { systemClock, type Clock, type HealthProbe, type Notifier, type RotationLedger, type SecretStore, type StepMessage, type StepQueue, type Versioned } from './ports.js';
import { createStartRotation } from './start.js';
import type { StartRotation } from './start-types.js';
import { createRotationSteps, type RotationPatch, type StepPorts, type StepResult } from './steps/index.js';
import { writesDirectly } from './steps/context.js';
import type { BackoffSettings } from './transitions.js';

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
  /** Declared consumers: nudged after promote, their adoption awaited in verify (src/consumers/). */
  readonly consumers?: StepPorts['consumers'];
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
   * rotation as a permanent failure of its step would (the machine's table:
   * rollback up to verify when the world changed, Failed otherwise, and never a
   * rollback after verify). A message the ledger is already past is ignored.
   */
  failRotation(message: StepMessage, reason: string): Promise<'rolling-back' | 'failed' | 'ignored'>;
  /** An operator's cancel (see `cancel-types.ts`); the machine decides, this only loads and commits. */
  readonly cancelRotation: CancelRotation;
}

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
    writesDirectly: (rotator) => {
      const found = deps.rotators.get(rotator);
      return found !== undefined && writesDirectly(found);
    },
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
          // The record, already committed, holds every step; the audit trail is its index by
          // time. A failed append is logged and never holds the rotation or its next message.
          try {
            await ledger.appendAudit(effect.entry);
          } catch (error) {
            log.warn('audit entry not written', { rotationId: effect.entry.rotationId, event: effect.entry.event, error: toRotationError(error) });
          }
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

  /** advance → persist (when the record changed: the commit point) → effects. */
  async function commit(loaded: Versioned<Rotation>, event: MachineEvent, log: Logger): Promise<Advanced> {
    const advanced = advance(loaded.value, event, clock.now(), random(), rules);
    if (advanced.rotation !== loaded.value) await ledger.updateRotation(loaded, advanced.rotation);
    await perform(advanced.effects, log);
    return advanced;
  }

  /** Runs the current step; only translated errors are outcomes, anything else propagates (Service Bus redelivers). */
  async function runStep(loaded: Versioned<Rotation>, log: Logger): Promise<{ versioned: Versioned<Rotation>; event: MachineEvent }> {
    const startedAt = clock.now();
    let versioned = loaded;
    const checkpoint = async (patch: RotationPatch): Promise<Rotation> => {
      versioned = await ledger.updateRotation(versioned, { ...versioned.value, ...patch, updatedAt: clock.now().toISOString() });
      return versioned.value;
    };
    const rotation = loaded.value;
    let result: StepResult;
    try {
      result = await steps[rotation.step]({ rotation, attempt: rotation.attempt ?? 1, now: startedAt, log, checkpoint });
    } catch (error) {
      if (!isStepError(error)) throw error;
      const failure = toRotationError(error);
      const throttledUntil = isSecretStoreError(error, SecretStoreErrorCode.Throttled) ? error.notBefore : undefined;
      result =
        throttledUntil === undefined
          ? { outcome: { kind: 'failed', code: failure.code, message: failure.message, ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }) } }
          : // Key Vault's budget: the step is scheduled for when the vault takes calls again, never slept out here.
            { outcome: { kind: 'throttled', reason: failure.message, retryAfterMs: Math.max(0, throttledUntil.getTime() - clock.now().getTime()) } };
    }
    return { versioned, event: { kind: 'step-finished', startedAt: startedAt.toISOString(), ...result } };
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
    if (isTerminal(rotation.status) || !isCurrent) {
      await commit(loaded, { kind: 'message-not-current', step: message.step, attempt: message.attempt }, log);
      if (isTerminal(rotation.status)) {
        log.info('rotation already ended; message acknowledged', { status: rotation.status });
        return { result: 'already-ended', rotation };
      }
      log.info('step already done; current message sent again', { current: rotation.step, currentAttempt: rotation.attempt ?? 1 });
      return { result: 'stale', rotation };
    }

    const ran = isPastDeadline(rotation, clock.now()) ? { versioned: loaded, event: { kind: 'deadline-passed' } as const } : await runStep(loaded, log);
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
