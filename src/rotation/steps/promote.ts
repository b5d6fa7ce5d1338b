import { RotationError, RotationErrorCode } from '../errors.js';
import { StepName, Strategy, UndoAction } from '../model.js';
import { currentSlot, EngineTag, tagsForNewVersion } from '../policy.js';
import type { Rotation } from '../model.js';
import type { StoredSecret } from '../ports.js';
import type { PreparedCredential } from '../rotator.js';
import { writesDirectly, type RotationStep, type StepContext, type StepInput, type UndoableStepModule, type UndoStep } from './context.js';

/**
 * promote: the prepared value (or, with no pending version, a value generated
 * or minted here: `writesDirectly`) becomes the latest version, with the
 * policy tags carried forward. Undo: the previous value is written back as a
 * new latest version (disabling the latest would answer 403 to every
 * consumer); then, for an alternating rotation with no pending version, the
 * rotator undoes its mint, given the value read back from the promoted
 * version; then the promoted version is disabled, last, so a disabled
 * promoted version means the whole undo is done. A latest version somebody
 * else wrote meanwhile wins: nothing is restored over it.
 */
export function promoteStep(context: StepContext): UndoableStepModule<typeof StepName.Promote> {
  const { store, ports } = context;

  /** No pending version: promote makes the value itself (a rotation that began before this plan existed still has one). */
  function isDirect(rotation: Rotation): boolean {
    return rotation.versions.pending === undefined && writesDirectly(context.rotatorOf(rotation), rotation.strategy);
  }

  /**
   * The value to write: the pending version's or, directly, one the rotator
   * generates (single) or mints on the inactive slot (alternating) now, from
   * the latest version, which is the previous one (checked above).
   */
  async function preparedFor(rotation: Rotation, latest: StoredSecret, input: StepInput): Promise<PreparedCredential> {
    if (!isDirect(rotation)) return context.requirePrepared(rotation);
    const rotator = context.rotatorOf(rotation);
    const prepared = await rotator.prepare(context.rotatorContext(rotation, context.credentialOf(latest), input));
    if (rotation.strategy === Strategy.Alternating && prepared.slot === undefined) {
      throw new RotationError(RotationErrorCode.InvalidConfiguration, `rotator ${rotator.kind} prepared no slot for an alternating rotation`);
    }
    return prepared;
  }

  const run: RotationStep = async (input) => {
    const { rotation, now } = input;
    const policy = context.policyOf(rotation);
    const read = await store.getLatest(rotation.secret);
    if (read.kind === 'disabled') throw new RotationError(RotationErrorCode.SecretDisabled, 'the latest version was disabled during the rotation');
    const latest = read.kind === 'found' ? read.secret : undefined;
    let promoted: string;
    let slot: string | undefined;
    let made: Pick<PreparedCredential, 'contentType' | 'refs'> = {};
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      promoted = latest.version; // an earlier attempt wrote it; the ledger had not recorded it yet
      slot = rotation.strategy === Strategy.Alternating ? latest.tags[EngineTag.Slot] : undefined;
    } else if (latest === undefined || latest.version !== rotation.versions.previous) {
      throw new RotationError(
        RotationErrorCode.ConcurrentWrite,
        `the latest version is ${latest?.version ?? 'gone'}, not ${rotation.versions.previous ?? '?'}: someone else changed the secret during the rotation`,
      );
    } else {
      const prepared = await preparedFor(rotation, latest, input);
      slot = rotation.strategy === Strategy.Alternating ? prepared.slot : undefined;
      made = prepared;
      const contentType = prepared.contentType ?? latest.contentType;
      const written = await store.setSecret(rotation.secret, {
        value: prepared.value,
        tags: tagsForNewVersion(policy.tags, { rotationId: rotation.id, ...(slot === undefined ? {} : { slot }) }),
        expiresOn: new Date(now.getTime() + policy.validityMs),
        ...(contentType === undefined ? {} : { contentType }),
      });
      promoted = written.version;
    }
    // Direct: what prepare would have recorded (the slot, the rotator's refs) is recorded here.
    const direct = isDirect(rotation);
    return {
      outcome: { kind: 'succeeded', detail: `new version ${promoted}${direct && slot !== undefined ? ` on slot ${slot}` : ''}` },
      patch: {
        versions: { ...rotation.versions, promoted },
        ...(direct && slot !== undefined ? { slots: { ...rotation.slots, next: slot } } : {}),
        ...(direct && (made.contentType !== undefined || made.refs !== undefined)
          ? {
              prepared: {
                ...(made.contentType === undefined ? {} : { contentType: made.contentType }),
                ...(made.refs === undefined ? {} : { refs: made.refs }),
              },
            }
          : {}),
      },
      undo: { step: StepName.Promote, action: UndoAction.Promoted, refs: { version: promoted } },
    };
  };

  /**
   * Direct alternating: the rotator undoes its mint, given the value read back
   * from the promoted version (still enabled: it is disabled after this). No
   * version written means the mint's value was never kept anywhere: the slot
   * is in use by no one, and the next rotation mints it again.
   */
  async function undoMint(rotation: Rotation, promoted: string | undefined, previous: StoredSecret | undefined, input: StepInput): Promise<void> {
    const rotator = context.rotatorOf(rotation);
    if (rotation.strategy !== Strategy.Alternating || !isDirect(rotation) || rotator.restore === undefined) return;
    if (promoted === undefined) {
      input.log.warn('nothing to undo at the provider: no version of this rotation was written, so its minted slot is in use by no one', { rotationId: rotation.id });
      return;
    }
    const read = await store.getVersion(rotation.secret, promoted);
    // Disabled: an earlier attempt of this undo finished (the disable comes last). Missing: nothing to read back.
    if (read.kind !== 'found') return;
    const minted = read.secret;
    const slot = minted.tags[EngineTag.Slot] ?? rotation.slots?.next;
    const refs = rotation.prepared?.refs;
    const prepared: PreparedCredential = {
      value: minted.value,
      ...(slot === undefined ? {} : { slot }),
      ...(minted.contentType === undefined ? {} : { contentType: minted.contentType }),
      ...(refs === undefined ? {} : { refs }),
    };
    const before = previous ?? (await context.readVersion(rotation.secret, rotation.versions.previous, 'previous'));
    await rotator.restore(context.rotatorContext(rotation, context.credentialOf(before), input), context.credentialOf(before), prepared);
  }

  const undo: UndoStep<typeof StepName.Promote> = async (record, rotation, input) => {
    const { now } = input;
    // A disabled or missing latest is not ours to judge: nothing is restored over it.
    const read = await store.getLatest(rotation.secret);
    const latest = read.kind === 'found' ? read.secret : undefined;
    let promoted = record.refs.version ?? rotation.versions.promoted;
    let restored = rotation.versions.restored;
    let previous: StoredSecret | undefined;
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      if (promoted === undefined) promoted = latest.version;
      if (latest.version === promoted) {
        previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
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
    await undoMint(rotation, promoted, previous, input);
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
