import { RotationError, RotationErrorCode } from '../errors.js';
import { StepName, Strategy, UndoAction } from '../model.js';
import { currentSlot, EngineTag, tagsForNewVersion } from '../policy.js';
import type { Rotation } from '../model.js';
import type { StoredSecret } from '../ports.js';
import type { PreparedCredential } from '../rotator.js';
import { writesDirectly, type RotationStep, type StepContext, type StepInput, type UndoableStepModule, type UndoStep } from './context.js';

/**
 * promote: the prepared value (or, with nothing at a provider, a value
 * generated here) becomes the latest version, with the policy tags
 * carried forward. Undo: the previous value is written back as a new latest
 * version (disabling the latest would answer 403 to every consumer), then the
 * failed version is disabled. A latest version somebody else wrote meanwhile
 * wins: nothing is restored over it.
 */
export function promoteStep(context: StepContext): UndoableStepModule<typeof StepName.Promote> {
  const { store, ports } = context;

  /**
   * The value to write: the pending version's, or, for a rotator with nothing
   * at a provider and no pending version (`writesDirectly`), one generated now
   * from the latest version, which is the previous one (checked above).
   */
  async function preparedFor(rotation: Rotation, latest: StoredSecret, input: StepInput): Promise<PreparedCredential> {
    const rotator = context.rotatorOf(rotation);
    if (rotation.versions.pending !== undefined || rotation.strategy !== Strategy.Single || !writesDirectly(rotator)) return context.requirePrepared(rotation);
    return rotator.prepare(context.rotatorContext(rotation, context.credentialOf(latest), input));
  }

  const run: RotationStep = async (input) => {
    const { rotation, now } = input;
    const policy = context.policyOf(rotation);
    const read = await store.getLatest(rotation.secret);
    if (read.kind === 'disabled') throw new RotationError(RotationErrorCode.SecretDisabled, 'the latest version was disabled during the rotation');
    const latest = read.kind === 'found' ? read.secret : undefined;
    let promoted: string;
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      promoted = latest.version; // an earlier attempt wrote it; the ledger had not recorded it yet
    } else if (latest === undefined || latest.version !== rotation.versions.previous) {
      throw new RotationError(
        RotationErrorCode.ConcurrentWrite,
        `the latest version is ${latest?.version ?? 'gone'}, not ${rotation.versions.previous ?? '?'}: someone else changed the secret during the rotation`,
      );
    } else {
      const prepared = await preparedFor(rotation, latest, input);
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

  const undo: UndoStep<typeof StepName.Promote> = async (record, rotation, { now }) => {
    // A disabled or missing latest is not ours to judge: nothing is restored over it.
    const read = await store.getLatest(rotation.secret);
    const latest = read.kind === 'found' ? read.secret : undefined;
    let promoted = record.refs.version ?? rotation.versions.promoted;
    let restored = rotation.versions.restored;
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      if (promoted === undefined) promoted = latest.version;
      if (latest.version === promoted) {
        const previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
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
    await context.setEnabledIfPresent(rotation.secret, promoted, false);
    return {
      versions: {
        ...rotation.versions,
        ...(promoted === undefined ? {} : { promoted }),
        ...(restored === undefined ? {} : { restored }),
      },
    };
  };

  return { run, undo };
}
