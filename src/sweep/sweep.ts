import { formatSecretRef } from '../keyvault/secret-ref.js';
import { isTerminal, RotationStatus, StepName, TriggerKind } from '../rotation/model.js';
import { endRotation, failRotation, nextAttempt, RecoveryOutcome, type RecoveryDependencies } from '../recovery/end-rotation.js';
import type { WaysInServices } from '../ways-in/services.js';
import { dueAt } from './due.js';

/**
 * The periodic safety net. Events can be missed (a version created before the
 * subscription existed, an outage longer than Event Grid's 24 hours, interval
 * policies with no expiry at all), and a rotation can stall (a lost message,
 * an instance that died mid-step). The sweep starts what is due and ends or
 * resumes what is stuck, so every rotation terminates (I3).
 */

export interface SweepOptions {
  /** How long past its deadline a stalled rollback is resumed before the rotation is declared Failed (default 1 hour). */
  readonly rollbackResumeWindowMs?: number;
}

export interface SweepReport {
  readonly scanned: number;
  readonly managed: number;
  readonly started: readonly string[];
  readonly duplicates: readonly string[];
  /** Rotations past their deadline, by what was done to them. */
  readonly recovered: readonly { readonly rotationId: string; readonly outcome: RecoveryOutcome }[];
  /** Secrets the sweep could not handle this time (it tries again next run). */
  readonly errors: readonly { readonly secret: string; readonly message: string }[];
}

export async function runSweep(services: WaysInServices, options: SweepOptions = {}): Promise<SweepReport> {
  const now = services.clock.now();
  const recovery: RecoveryDependencies = services;
  const report = { scanned: 0, managed: 0, started: [] as string[], duplicates: [] as string[], recovered: [] as SweepReport['recovered'][number][], errors: [] as SweepReport['errors'][number][] };

  for (const vaultUrl of services.allowedVaults) {
    try {
      for await (const info of services.secrets.listSecrets(vaultUrl)) {
        report.scanned += 1;
        const reading = services.readPolicy(info.tags);
        if (reading.kind === 'unmanaged') continue;
        report.managed += 1;
        const where = formatSecretRef(info.secret);
        try {
          const activeId = await services.ledger.activeRotation(info.secret);
          if (activeId !== undefined) {
            const recovered = await recoverIfStuck(activeId, now, recovery, options);
            if (recovered !== undefined) report.recovered.push({ rotationId: activeId, outcome: recovered });
            continue;
          }
          const due = dueAt(info, reading, services.expiryHorizonMs);
          if (due === undefined || due.getTime() > now.getTime() || !info.enabled) continue;
          const result = await services.startRotation(info.secret, { kind: TriggerKind.Sweep, version: info.version });
          if (result.outcome === 'started') report.started.push(result.rotationId);
          else if (result.outcome === 'duplicate') report.duplicates.push(result.rotationId);
          services.log.info('sweep found a due secret', { secret: where, version: info.version, due: due.toISOString(), outcome: result.outcome });
        } catch (error) {
          report.errors.push({ secret: where, message: error instanceof Error ? error.message.slice(0, 300) : 'unknown error' });
          services.log.error('sweep could not handle a secret', { secret: where, error });
        }
      }
    } catch (error) {
      report.errors.push({ secret: vaultUrl, message: error instanceof Error ? error.message.slice(0, 300) : 'unknown error' });
      services.log.error('sweep could not list a vault', { vaultUrl, error });
    }
  }
  services.log.info('sweep finished', {
    scanned: report.scanned,
    managed: report.managed,
    started: report.started.length,
    recovered: report.recovered.length,
    errors: report.errors.length,
  });
  return report;
}

/**
 * A rotation past its deadline: a stalled rollback is resumed (its step sent
 * again) for a bounded while, then Failed; anything else is ended, which rolls
 * back what promoted and fails the rest.
 */
async function recoverIfStuck(rotationId: string, now: Date, deps: RecoveryDependencies, options: SweepOptions): Promise<RecoveryOutcome | undefined> {
  const found = await deps.ledger.getRotation(rotationId);
  if (found === undefined || isTerminal(found.value.status)) return undefined;
  const rotation = found.value;
  if (Date.parse(rotation.deadline) > now.getTime()) return undefined;

  const reason = `deadline ${rotation.deadline} passed during step ${rotation.step}`;
  if (rotation.status === RotationStatus.RollingBack) {
    if (now.getTime() - Date.parse(rotation.deadline) > (options.rollbackResumeWindowMs ?? 3_600_000)) {
      return failRotation(rotationId, `rollback did not finish: ${reason}`, deps);
    }
    const attempt = nextAttempt(rotation, StepName.Rollback);
    await deps.queue.sendStep({ rotationId, secret: rotation.secret, step: StepName.Rollback, attempt });
    deps.log.warn('stalled rollback resumed', { rotationId, attempt });
    return RecoveryOutcome.Resumed;
  }
  return endRotation(rotationId, reason, deps);
}
