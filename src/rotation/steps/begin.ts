import { formatSecretRef } from '../../keyvault/secret-ref.js';
import { RotationErrorCode } from '../errors.js';
import { timingOf } from '../../schedule/timing.js';
import { currentSlot, readPolicy } from '../policy.js';
import type { RotationStep, StepContext } from './context.js';

/** begin: reads the policy as of now, takes the lock, runs the pre-flight probe. Changes nothing, so it has no undo. */
export function beginStep({ store, ports }: StepContext): { readonly run: RotationStep } {
  const run: RotationStep = async ({ rotation }) => {
    const read = await store.getLatest(rotation.secret);
    if (read.kind === 'missing') {
      return { outcome: { kind: 'failed', code: RotationErrorCode.SecretNotFound, message: `${formatSecretRef(rotation.secret)} does not exist` } };
    }
    if (read.kind === 'disabled') {
      return { outcome: { kind: 'failed', code: RotationErrorCode.SecretDisabled, message: `the latest version of ${formatSecretRef(rotation.secret)} is disabled` } };
    }
    const latest = read.secret;
    const reading = readPolicy(latest.tags, { rotators: ports.rotators, minValidityMs: ports.minValidityMs });
    if (reading.kind === 'unmanaged') {
      return { outcome: { kind: 'failed', code: RotationErrorCode.InvalidPolicy, message: 'the secret has no rotor-rotator tag' } };
    }
    if (reading.kind === 'invalid') {
      const message = reading.problems.map((p) => `${p.tag}: ${p.message}`).join('; ');
      return { outcome: { kind: 'failed', code: RotationErrorCode.InvalidPolicy, message } };
    }
    const wanted = rotation.trigger.version;
    if (wanted !== undefined && wanted !== latest.version) {
      return { outcome: { kind: 'skipped', reason: `stale trigger: version ${wanted} is no longer the latest (${latest.version})` } };
    }
    // Paused while it waited for its window (or its paced start): an automatic rotation does not begin.
    if (rotation.trigger.kind !== 'manual' && timingOf(reading.policy.tags).paused) {
      return { outcome: { kind: 'skipped', reason: 'the secret is paused (rotor-paused=true)' } };
    }
    // startRotation took the lock: one read confirms it (a create that fails, then a read, would be two requests).
    // Only a lock gone since (broken as stale) is taken again here.
    const holder = await ports.ledger.activeRotation(rotation.secret);
    if (holder !== undefined && holder !== rotation.id) return { outcome: { kind: 'skipped', reason: `rotation ${holder} is active on this secret` } };
    if (holder === undefined) {
      const lock = await ports.ledger.acquireLock(rotation.secret, rotation.id);
      if (!lock.acquired) return { outcome: { kind: 'skipped', reason: `rotation ${lock.heldBy} is active on this secret` } };
    }

    const { policy } = reading;
    const check = await ports.healthProbe.check(policy.health);
    if (!check.healthy) return { outcome: { kind: 'aborted', reason: `pre-flight health check failed: ${check.reason}` } };

    const previousSlot = currentSlot(latest.tags);
    return {
      outcome: { kind: 'succeeded', detail: `current version ${latest.version}` },
      patch: {
        policy,
        rotator: policy.rotator,
        strategy: policy.strategy,
        versions: { ...rotation.versions, previous: latest.version },
        ...(previousSlot === undefined ? {} : { slots: { ...rotation.slots, previous: previousSlot } }),
      },
    };
  };
  return { run };
}
