import { checkHealthGate } from '../health/gate.js';
import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import type { CurrentCredential, PreparedCredential, Rotator, RotatorContext, RotatorRegistry } from '../rotators/rotator.js';
import type { SecretValue } from '../secrecy/secret-value.js';
import { RotationError, RotationErrorCode } from './errors.js';
import { StepName, Strategy, type Rotation, type StepName as StepNameType, type UndoRecord } from './model.js';
import { disablePending, findPending, readPending, writePending } from './pending.js';
import { currentSlot, EngineTag, readPolicy, tagsForNewVersion } from './policy.js';
import type { RotationPolicy } from './policy-types.js';
import type { HealthProbe, RotationLedger, SecretStore, StoredSecret } from './ports.js';
import type { StepOutcome } from './transitions.js';

/**
 * The side-effecting half of the engine: one function per step, built by a
 * factory that receives the ports (so the same steps run on fakes and on the
 * emulators). Each step is written to be run again after a crash at any point:
 * before changing the world it looks whether an earlier attempt already did
 * (a version tagged with this rotation id, a pending version, a disabled
 * version), and every undo action tolerates "never happened".
 */

export interface StepPorts {
  readonly secretStore: SecretStore;
  readonly ledger: RotationLedger;
  readonly healthProbe: HealthProbe;
  readonly rotators: RotatorRegistry;
  readonly minValidityMs: number;
  /** A restored version expires no earlier than this after the rollback, so the next attempt is a day away, not at once (I7). */
  readonly rollbackRetryAfterMs: number;
}

/** Fields a step sets on the rotation record. */
export type RotationPatch = Partial<Pick<Rotation, 'versions' | 'slots' | 'policy' | 'prepared' | 'rotator' | 'strategy' | 'deadline' | 'undo'>>;

export interface StepInput {
  readonly rotation: Rotation;
  readonly attempt: number;
  readonly now: Date;
  readonly log: Logger;
  /** Persists progress inside a step (rollback records each undo action as it completes). */
  readonly checkpoint: (patch: RotationPatch) => Promise<Rotation>;
}

export interface StepResult {
  readonly outcome: StepOutcome;
  readonly patch?: RotationPatch;
  /** Pushed on the undo stack when the step succeeded. */
  readonly undo?: UndoRecord;
}

export type RotationStep = (input: StepInput) => Promise<StepResult>;

export const UndoAction = {
  /** prepare wrote a pending version (and, alternating, minted on the inactive slot). */
  Prepared: 'prepared',
  /** apply made the new credential valid at the provider (single). */
  Applied: 'applied',
  /** promote wrote the new latest version. */
  Promoted: 'promoted',
} as const;
export type UndoAction = (typeof UndoAction)[keyof typeof UndoAction];

/**
 * The undo record of a world-changing step that failed for good: it may have
 * half happened (a crash after the provider call, then a permanent error on
 * the retry), so rollback undoes it too. prepare has none: a rotator whose
 * prepare fails permanently leaves nothing behind.
 */
export function undoIfAttempted(step: StepNameType): UndoRecord | undefined {
  switch (step) {
    case StepName.Apply:
      return { step, action: UndoAction.Applied, refs: {} };
    case StepName.Promote:
      return { step, action: UndoAction.Promoted, refs: {} };
    case StepName.Begin:
    case StepName.Prepare:
    case StepName.Verify:
    case StepName.Retire:
    case StepName.Revoke:
    case StepName.Rollback:
      return undefined;
  }
}


export function createRotationSteps(ports: StepPorts): Readonly<Record<StepNameType, RotationStep>> {
  const { secretStore: store } = ports;

  function policyOf(rotation: Rotation): RotationPolicy {
    if (rotation.policy === undefined) throw new RotationError(RotationErrorCode.InvalidPolicy, 'the rotation has no policy: begin did not record one');
    return rotation.policy;
  }

  function rotatorOf(rotation: Rotation): Rotator {
    const rotator = ports.rotators.get(rotation.rotator);
    if (rotator === undefined) throw new RotationError(RotationErrorCode.RotatorNotFound, `no rotator "${rotation.rotator}" is registered`);
    return rotator;
  }

  async function readVersion(secret: SecretRef, version: string | undefined, what: string): Promise<StoredSecret> {
    if (version === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, `the ${what} version is not recorded`);
    const stored = await store.getVersion(secret, version);
    if (stored === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, `the ${what} version ${version} of ${formatSecretRef(secret)} is gone`);
    return stored;
  }

  function credentialOf(stored: StoredSecret): CurrentCredential {
    const slot = currentSlot(stored.tags);
    return {
      version: stored.version,
      value: stored.value,
      tags: stored.tags,
      ...(stored.contentType === undefined ? {} : { contentType: stored.contentType }),
      ...(slot === undefined ? {} : { slot }),
    };
  }

  function rotatorContext(rotation: Rotation, current: CurrentCredential, input: StepInput): RotatorContext {
    return {
      rotationId: rotation.id,
      secret: rotation.secret,
      policy: policyOf(rotation),
      current,
      attempt: input.attempt,
      log: input.log,
      readSecret: async (name: string): Promise<SecretValue> => {
        const other = await store.getLatest({ vaultUrl: rotation.secret.vaultUrl, name });
        if (other === undefined) throw new RotationError(RotationErrorCode.InvalidConfiguration, `secret ${name} that the rotator reads does not exist in the vault`);
        return other.value;
      },
    };
  }

  async function preparedOf(rotation: Rotation): Promise<PreparedCredential | undefined> {
    const pendingVersion = rotation.versions.pending;
    if (pendingVersion === undefined) return undefined;
    const pending = await readPending(store, rotation.secret, pendingVersion);
    if (pending === undefined) return undefined;
    return {
      ...pending.prepared,
      ...(rotation.prepared?.refs === undefined ? {} : { refs: rotation.prepared.refs }),
      ...(rotation.slots?.next === undefined ? {} : { slot: rotation.slots.next }),
    };
  }

  async function requirePrepared(rotation: Rotation): Promise<PreparedCredential> {
    const prepared = await preparedOf(rotation);
    if (prepared === undefined) throw new RotationError(RotationErrorCode.SecretNotFound, 'the pending value of this rotation is no longer readable');
    return prepared;
  }

  async function setEnabledIfPresent(secret: SecretRef, version: string | undefined, enabled: boolean): Promise<void> {
    if (version === undefined) return;
    try {
      await store.setEnabled(secret, version, enabled);
    } catch (error) {
      if (isSecretStoreError(error, SecretStoreErrorCode.NotFound)) return;
      throw error;
    }
  }

  /** Reads the latest version, treating a disabled latest as "not ours to judge" rather than an error. */
  async function latestOrDisabled(secret: SecretRef): Promise<StoredSecret | 'disabled' | undefined> {
    try {
      return await store.getLatest(secret);
    } catch (error) {
      if (isSecretStoreError(error, SecretStoreErrorCode.SecretDisabled)) return 'disabled';
      throw error;
    }
  }

  const begin: RotationStep = async ({ rotation }) => {
    const latest = await store.getLatest(rotation.secret);
    if (latest === undefined) {
      return { outcome: { kind: 'failed', code: RotationErrorCode.SecretNotFound, message: `${formatSecretRef(rotation.secret)} does not exist` } };
    }
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
    const lock = await ports.ledger.acquireLock(rotation.secret, rotation.id);
    if (!lock.acquired) return { outcome: { kind: 'skipped', reason: `rotation ${lock.heldBy} is active on this secret` } };

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

  const prepare: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = rotatorOf(rotation);
    let pending = await findPending(store, rotation.secret, rotation.id);
    if (pending === undefined) {
      const previous = await readVersion(rotation.secret, rotation.versions.previous, 'previous');
      const prepared = await rotator.prepare(rotatorContext(rotation, credentialOf(previous), input));
      if (rotation.strategy === Strategy.Alternating && prepared.slot === undefined) {
        throw new RotationError(RotationErrorCode.InvalidConfiguration, `rotator ${rotator.kind} prepared no slot for an alternating rotation`);
      }
      const version = await writePending(store, rotation.secret, rotation.id, prepared);
      pending = { version, prepared };
    }
    const { prepared } = pending;
    return {
      outcome: { kind: 'succeeded', detail: `pending version ${pending.version}${prepared.slot === undefined ? '' : ` on slot ${prepared.slot}`}` },
      patch: {
        versions: { ...rotation.versions, pending: pending.version },
        ...(prepared.slot === undefined ? {} : { slots: { ...rotation.slots, next: prepared.slot } }),
        ...(prepared.contentType === undefined && prepared.refs === undefined
          ? {}
          : {
              prepared: {
                ...(prepared.contentType === undefined ? {} : { contentType: prepared.contentType }),
                ...(prepared.refs === undefined ? {} : { refs: prepared.refs }),
              },
            }),
      },
      undo: { step: StepName.Prepare, action: UndoAction.Prepared, refs: { pendingVersion: pending.version } },
    };
  };

  const apply: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = rotatorOf(rotation);
    if (rotator.apply === undefined) return { outcome: { kind: 'succeeded', detail: 'nothing to apply at the provider' } };
    const previous = await readVersion(rotation.secret, rotation.versions.previous, 'previous');
    const prepared = await requirePrepared(rotation);
    await rotator.apply(rotatorContext(rotation, credentialOf(previous), input), prepared);
    return {
      outcome: { kind: 'succeeded', detail: 'new credential applied at the provider' },
      undo: { step: StepName.Apply, action: UndoAction.Applied, refs: {} },
    };
  };

  const promote: RotationStep = async ({ rotation, now }) => {
    const policy = policyOf(rotation);
    const latest = await store.getLatest(rotation.secret);
    let promoted: string;
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      promoted = latest.version; // an earlier attempt wrote it; the ledger had not recorded it yet
    } else if (latest === undefined || latest.version !== rotation.versions.previous) {
      throw new RotationError(
        RotationErrorCode.ConcurrentWrite,
        `the latest version is ${latest?.version ?? 'gone'}, not ${rotation.versions.previous ?? '?'}: someone else changed the secret during the rotation`,
      );
    } else {
      const prepared = await requirePrepared(rotation);
      const contentType = prepared.contentType ?? latest.contentType;
      const written = await store.setSecret(rotation.secret, {
        value: prepared.value,
        tags: tagsForNewVersion(policy.tags, { rotationId: rotation.id, ...(rotation.strategy === Strategy.Alternating && prepared.slot !== undefined ? { slot: prepared.slot } : {}) }),
        expiresOn: new Date(now.getTime() + policy.validityMs),
        ...(contentType === undefined ? {} : { contentType }),
      });
      promoted = written.version;
    }
    return {
      outcome: { kind: 'succeeded', detail: `new version ${promoted}` },
      patch: { versions: { ...rotation.versions, promoted } },
      undo: { step: StepName.Promote, action: UndoAction.Promoted, refs: { version: promoted } },
    };
  };

  const verify: RotationStep = async (input) => {
    const { rotation } = input;
    const policy = policyOf(rotation);
    const rotator = rotatorOf(rotation);
    const promoted = await readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
    const gate = await checkHealthGate({
      selfTest: () => rotator.test(rotatorContext(rotation, credentialOf(promoted), input), promoted.value),
      probe: ports.healthProbe,
      targets: policy.health,
    });
    if (!gate.healthy) return { outcome: { kind: 'unhealthy', reason: gate.reason } };
    return { outcome: { kind: 'succeeded', detail: policy.health.length === 0 ? 'self-test passed' : `self-test and ${policy.health.length} probe(s) passed` } };
  };

  const retire: RotationStep = async ({ rotation }) => {
    const policy = policyOf(rotation);
    // With revoke-after, the superseded version stays enabled until its credential is revoked.
    if (policy.revokeAfterMs === undefined) await setEnabledIfPresent(rotation.secret, rotation.versions.previous, false);
    await disablePendingIfPresent(rotation);
    return { outcome: { kind: 'succeeded', detail: policy.revokeAfterMs === undefined ? `version ${rotation.versions.previous ?? '?'} disabled` : 'revocation scheduled' } };
  };

  async function disablePendingIfPresent(rotation: Rotation): Promise<void> {
    if (rotation.versions.pending === undefined) return;
    try {
      await disablePending(store, rotation.secret, rotation.versions.pending);
    } catch (error) {
      if (isSecretStoreError(error, SecretStoreErrorCode.NotFound)) return;
      throw error;
    }
  }

  const revoke: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = rotatorOf(rotation);
    const previousVersion = rotation.versions.previous;
    if (previousVersion === undefined) return { outcome: { kind: 'succeeded', detail: 'no superseded version recorded' } };
    let superseded: StoredSecret | undefined;
    try {
      superseded = await store.getVersion(rotation.secret, previousVersion);
    } catch (error) {
      // Disabled: an earlier attempt revoked it and then disabled the version.
      if (isSecretStoreError(error, SecretStoreErrorCode.SecretDisabled)) return { outcome: { kind: 'succeeded', detail: 'already revoked' } };
      throw error;
    }
    if (superseded !== undefined) {
      const promoted = await readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
      await rotator.revoke?.(rotatorContext(rotation, credentialOf(promoted), input), credentialOf(superseded));
      await store.setEnabled(rotation.secret, superseded.version, false);
    }
    return { outcome: { kind: 'succeeded', detail: `superseded credential revoked, version ${previousVersion} disabled` } };
  };

  /** Walks the undo stack newest first; each action is recorded as it completes, so a crash resumes where it stopped. */
  const rollback: RotationStep = async (input) => {
    let rotation = input.rotation;
    const done: string[] = [];
    while (rotation.undo.length > 0) {
      const record = rotation.undo[rotation.undo.length - 1] as UndoRecord;
      const patch = await undo(record, rotation, input);
      done.push(record.action);
      rotation = await input.checkpoint({ ...patch, undo: rotation.undo.slice(0, -1) });
    }
    const restored = rotation.versions.restored;
    return { outcome: { kind: 'succeeded', detail: `${done.length === 0 ? 'nothing left to undo' : `undid ${done.join(', ')}`}${restored === undefined ? '' : `; previous value restored as ${restored}`}` } };
  };

  async function undo(record: UndoRecord, rotation: Rotation, input: StepInput): Promise<RotationPatch> {
    const action = record.action as UndoAction;
    switch (action) {
      case UndoAction.Promoted:
        return undoPromote(record, rotation, input.now);
      case UndoAction.Applied: {
        const rotator = rotatorOf(rotation);
        const prepared = await preparedOf(rotation);
        if (prepared !== undefined && rotator.restore !== undefined) {
          const previous = await readVersion(rotation.secret, rotation.versions.previous, 'previous');
          await rotator.restore(rotatorContext(rotation, credentialOf(previous), input), credentialOf(previous), prepared);
        }
        return {};
      }
      case UndoAction.Prepared: {
        const rotator = rotatorOf(rotation);
        const prepared = await preparedOf(rotation);
        // A disabled pending version means an earlier attempt finished this action up to the disable.
        if (prepared !== undefined) {
          if (rotation.strategy === Strategy.Alternating && rotator.restore !== undefined) {
            const previous = await readVersion(rotation.secret, rotation.versions.previous, 'previous');
            await rotator.restore(rotatorContext(rotation, credentialOf(previous), input), credentialOf(previous), prepared);
          }
          await disablePendingIfPresent(rotation);
        }
        return {};
      }
      default:
        throw new RotationError(RotationErrorCode.InvalidConfiguration, `unknown undo action "${String(action)}"`);
    }
  }

  /**
   * Puts the previous value back as a new latest version (disabling the latest
   * would answer 403 to every consumer), then disables the failed version. A
   * latest version somebody else wrote meanwhile wins: nothing is restored over it.
   */
  async function undoPromote(record: UndoRecord, rotation: Rotation, now: Date): Promise<RotationPatch> {
    const latest = await latestOrDisabled(rotation.secret);
    let promoted = record.refs.version ?? rotation.versions.promoted;
    let restored = rotation.versions.restored;
    if (latest !== undefined && latest !== 'disabled' && latest.tags[EngineTag.Rotation] === rotation.id) {
      if (promoted === undefined) promoted = latest.version;
      if (latest.version === promoted) {
        const previous = await readVersion(rotation.secret, rotation.versions.previous, 'previous');
        const floor = now.getTime() + ports.minValidityMs + ports.rollbackRetryAfterMs;
        const expiresOn = previous.expiresOn === undefined ? undefined : new Date(Math.max(previous.expiresOn.getTime(), floor));
        const slot = rotation.strategy === Strategy.Alternating ? currentSlot(previous.tags) : undefined;
        const written = await store.setSecret(rotation.secret, {
          value: previous.value,
          tags: tagsForNewVersion(previous.tags, { rotationId: rotation.id, ...(slot === undefined ? {} : { slot }) }),
          ...(previous.contentType === undefined ? {} : { contentType: previous.contentType }),
          ...(expiresOn === undefined ? {} : { expiresOn }),
        });
        restored = written.version;
      } else {
        restored = latest.version; // an earlier attempt restored it already
      }
    }
    await setEnabledIfPresent(rotation.secret, promoted, false);
    return {
      versions: {
        ...rotation.versions,
        ...(promoted === undefined ? {} : { promoted }),
        ...(restored === undefined ? {} : { restored }),
      },
    };
  }

  return { begin, prepare, apply, promote, verify, retire, revoke, rollback };
}

/** The steps keyed by name, as `createRotationSteps` returns them; a missing step fails to compile. */
export type RotationSteps = ReturnType<typeof createRotationSteps>;
