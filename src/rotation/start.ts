import { createHash, randomBytes } from 'node:crypto';
import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import { isLedgerConflictError } from '../ledger/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RotatorRegistry } from './rotator.js';
import { durations } from '../time/iso-duration.js';
import { advance, deadlineFor, planOf, type Effect, type MachineRules } from './machine.js';
import { isTerminal, RotationStatus, StepName, type Rotation, type RotationTrigger } from './model.js';
import { readPolicy } from './policy.js';
import { automaticStartAt } from '../schedule/due.js';
import { timingOf } from '../schedule/timing.js';
import type { RotationPolicy } from './policy-types.js';
import type { Clock, HealthProbe, LockResult, RotationLedger, SecretStore } from './ports.js';
import type { DryRunReport, StartRotation, StartRotationResult } from './start-types.js';

/**
 * `startRotation`: what can be answered at once (the secret, its policy, the
 * lock), then the record and its begin message. `begin` checks again under
 * the lock, so the early answer is a courtesy and the lock the guarantee (I2).
 */
export interface StartDeps {
  readonly secretStore: SecretStore;
  readonly ledger: RotationLedger;
  readonly healthProbe: HealthProbe;
  readonly rotators: RotatorRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly rules: MachineRules;
  readonly minValidityMs: number;
  readonly orphanLockMs: number;
  readonly duplicateWindowMs: number;
  /** Performs the machine's effects (the engine's interpreter). */
  readonly perform: (effects: readonly Effect[]) => Promise<void>;
}

export function createStartRotation(deps: StartDeps): StartRotation {
  const { ledger, clock } = deps;

  async function takeLock(secret: SecretRef, rotationId: string): Promise<LockResult> {
    const first = await ledger.acquireLock(secret, rotationId);
    if (first.acquired) return first;
    const holder = await ledger.getRotation(first.heldBy);
    const orphaned = holder === undefined && first.since !== undefined && clock.now().getTime() - Date.parse(first.since) > deps.orphanLockMs;
    if (!orphaned && !(holder !== undefined && isTerminal(holder.value.status))) return first;
    deps.logger.warn('breaking a stale lock', { secretRef: formatSecretRef(secret), heldBy: first.heldBy, holder: holder?.value.status ?? 'no record' });
    await ledger.releaseLock(secret, first.heldBy);
    return ledger.acquireLock(secret, rotationId);
  }

  function rotationIdFor(secret: SecretRef, trigger: RotationTrigger, nowMs: number): string {
    if (trigger.kind === 'manual' || (trigger.version === undefined && trigger.eventId === undefined)) return randomBytes(16).toString('hex');
    const window = Math.floor(nowMs / deps.duplicateWindowMs);
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
    const plan = planOf(policy, deps.rules);
    const expires = `expires in ${Math.round(policy.validityMs / durations.DAY)} days`;
    const path = [
      ...(plan.direct === true
        ? [`promote: ${newCredentialOf(policy.strategy, plan.hasApply)} and write it as the new version (${expires})`]
        : [
            `prepare${policy.strategy === 'alternating' ? ' the inactive slot' : ''}`,
            ...(plan.hasApply && policy.strategy === 'single' ? ['apply at the provider'] : []),
            `promote (${expires})`,
          ]),
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

  /** Sends the begin message of a record (through the machine: "resumed" sends the current step). */
  async function sendBegin(rotation: Rotation): Promise<void> {
    await deps.perform(advance(rotation, { kind: 'resumed' }, clock.now(), 0, deps.rules).effects);
  }

  /** A second start for the same trigger; if the first never got its begin message out (a crash), it is sent now. */
  async function duplicate(existing: Rotation): Promise<StartRotationResult> {
    if (!isTerminal(existing.status) && existing.step === StepName.Begin && existing.steps.length === 0) await sendBegin(existing);
    return { outcome: 'duplicate', rotationId: existing.id };
  }

  return async (secretInput, trigger, options) => {
    const secret: SecretRef = { vaultUrl: new URL(secretInput.vaultUrl).origin, name: secretInput.name };
    const read = await deps.secretStore.getLatest(secret);
    if (read.kind === 'disabled') {
      return { outcome: 'invalid-policy', problems: [{ tag: '(latest version)', message: 'the latest version is disabled; enable it or write a new one before rotating' }] };
    }
    if (read.kind === 'missing') return { outcome: 'not-found' };
    const latest = read.secret;
    const reading = readPolicy(latest.tags, { rotators: deps.rotators, minValidityMs: deps.minValidityMs });
    if (reading.kind === 'unmanaged') return { outcome: 'not-managed' };
    if (reading.kind === 'invalid') return { outcome: 'invalid-policy', problems: reading.problems };
    if (trigger.version !== undefined && trigger.version !== latest.version) return { outcome: 'stale', latestVersion: latest.version };
    if (options?.dryRun === true) return { outcome: 'dry-run', report: await dryRun(secret, latest.version, reading.policy) };

    const now = clock.now();
    // When it may begin: paused secrets start only by an operator's force; events and the sweep wait for the window.
    const timing = timingOf(reading.policy.tags);
    const automatic = trigger.kind !== 'manual';
    if (timing.paused && (automatic || options?.force !== true)) return { outcome: 'paused' };
    let beginAt = options?.notBefore !== undefined && options.notBefore.getTime() > now.getTime() ? options.notBefore : now;
    if (automatic) {
      const allowed = automaticStartAt(timing, beginAt);
      if (!allowed.allowed && allowed.reason === 'outside-window') beginAt = allowed.opensAt;
    }
    const deferred = beginAt.getTime() > now.getTime();
    const id = rotationIdFor(secret, trigger, now.getTime());
    // A random id (manual triggers, see rotationIdFor) cannot have an earlier record: the read is saved.
    const random = trigger.kind === 'manual' || (trigger.version === undefined && trigger.eventId === undefined);
    const existing = random ? undefined : await ledger.getRotation(id);
    if (existing !== undefined) return duplicate(existing.value);

    const lock = await takeLock(secret, id);
    if (!lock.acquired) return { outcome: 'busy', activeRotationId: lock.heldBy };
    // Created once the lock is ours: the rotation it follows may have ended while this start waited for it (I2).
    const createdAt = clock.now().toISOString();
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
      createdAt,
      updatedAt: createdAt,
      deadline: deadlineFor(beginAt.getTime(), reading.policy, deps.rules),
      ...(deferred ? { notBefore: beginAt.toISOString() } : {}),
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
    // Its audit entries (`rotation.created` first) go to the trail with the rest of its history when it ends.
    await sendBegin(rotation);
    deps.logger.info('rotation started', { rotationId: id, secretRef: formatSecretRef(secret), trigger: trigger.kind, ...(deferred ? { beginAt: beginAt.toISOString() } : {}) });
    return deferred ? { outcome: 'started', rotationId: id, startAt: beginAt.toISOString() } : { outcome: 'started', rotationId: id };
  };
}

/** What promote makes, in a dry run's words. */
function newCredentialOf(strategy: RotationPolicy['strategy'], hasApply: boolean): string {
  if (strategy === 'alternating') return 'mint a credential on the inactive slot';
  return hasApply ? 'set a new credential at the provider' : 'generate a new value';
}
