import { RotationError, RotationErrorCode } from '../errors.js';
import { StepName, Strategy, UndoAction } from '../model.js';
import { findPending, pendingRef, writePending, type PendingVersion } from '../pending.js';
import { EngineTag, MAX_TAGS, tagsForNewVersion } from '../policy.js';
import type { Rotation } from '../model.js';
import type { StoredSecret } from '../ports.js';
import type { PreparedCredential } from '../rotator.js';
import { beforeAnyChange, keepsPending, ranPrepareStep, type RotationStep, type StepContext, type StepInput, type UndoableStepModule } from './context.js';
import { promoteUndo } from './promote-undo.js';

/**
 * promote: the new value becomes the latest version, with the policy tags
 * carried forward. The value comes from the rotator, called here: it
 * generates (single) or mints on the inactive slot (alternating). Where the
 * value must be durable before the provider changes (`keepsPending`: single
 * with a provider, or a `restore` that needs the prepared credential), it is
 * written to the pending companion first, then the rotator applies it
 * (single), then the new version is written. A rotation whose prepare step
 * ran (the older plan) takes the pending value prepare recorded.
 *
 * Replays after a crash: the latest version tagged with this rotation is
 * adopted; a pending version of this rotation is reused (apply is
 * idempotent); otherwise the rotator mints or generates again, which for an
 * alternating slot in use by no one, or a value never applied, is harmless.
 *
 * Key Vault calls, first run: the latest version (1 get) and the new version
 * (1 create); with a pending version also the pending version (1 create), and
 * the companion's latest (1 get: the replay and name checks) unless this is
 * attempt 1's first delivery (`StepInput.firstDelivery`) and the latest
 * version carries `rotor-pending-companion`. The value is never read back
 * after a write.
 */
export function promoteStep(context: StepContext): UndoableStepModule<typeof StepName.Promote> {
  const { store } = context;

  /** Asks the rotator for the new value, from the latest version (the previous one, checked by the caller). */
  async function mint(rotation: Rotation, latest: StoredSecret, input: StepInput): Promise<PreparedCredential> {
    const rotator = context.rotatorOf(rotation);
    // Nothing of this rotation exists yet when prepare runs (no version, no pending value): its failure changed nothing.
    const prepared = await beforeAnyChange(() => rotator.prepare(context.rotatorContext(rotation, context.credentialOf(latest), input)));
    if (rotation.strategy === Strategy.Alternating && prepared.slot === undefined) {
      throw new RotationError(RotationErrorCode.InvalidConfiguration, `rotator ${rotator.kind} prepared no slot for an alternating rotation`);
    }
    return prepared;
  }

  /**
   * The pending version, reused or written, and the provider made to accept it (single with `apply`).
   * The companion's latest is read (the replay check, and the name-collision check) unless both hold:
   * this is attempt 1's first delivery (promote never ran before for this rotation, so no pending
   * value of it exists), and the latest version says an earlier promote found the companion to be
   * Rotor's (`EngineTag.Companion`). Any redelivery (a crash after the pending write, before the
   * record), a scheduled copy, a later attempt or a first pending rotation reads.
   */
  async function pendingFor(rotation: Rotation, latest: StoredSecret, input: StepInput): Promise<PendingVersion> {
    const companionKnown = latest.tags[EngineTag.Companion] === pendingRef(rotation.secret).name;
    const firstRun = input.attempt === 1 && input.firstDelivery && companionKnown;
    let pending = firstRun ? undefined : await findPending(store, rotation.secret, rotation.id);
    if (pending === undefined) {
      const prepared = await mint(rotation, latest, input);
      pending = { version: await writePending(store, rotation.secret, rotation.id, prepared), prepared };
    }
    const rotator = context.rotatorOf(rotation);
    if (rotation.strategy === Strategy.Single && rotator.apply !== undefined) {
      await rotator.apply(context.rotatorContext(rotation, context.credentialOf(latest), input), pending.prepared);
    }
    return pending;
  }

  const run: RotationStep = async (input) => {
    const { rotation, now } = input;
    const policy = context.policyOf(rotation);
    const olderPlan = ranPrepareStep(rotation);
    const pendingKept = !olderPlan && keepsPending(context.rotatorOf(rotation), rotation.strategy);
    const read = await store.getLatest(rotation.secret);
    if (read.kind === 'disabled') throw new RotationError(RotationErrorCode.SecretDisabled, 'the latest version was disabled during the rotation');
    const latest = read.kind === 'found' ? read.secret : undefined;
    let promoted: string;
    let slot: string | undefined;
    let made: Pick<PreparedCredential, 'contentType' | 'refs'> = {};
    let pending: PendingVersion | undefined;
    if (latest !== undefined && latest.tags[EngineTag.Rotation] === rotation.id) {
      promoted = latest.version; // an earlier attempt wrote it; the ledger had not recorded it yet
      slot = rotation.strategy === Strategy.Alternating ? latest.tags[EngineTag.Slot] : undefined;
      // Its pending version is recorded too, so that retire or rollback disables it (a replay's read only).
      if (pendingKept) pending = await findPending(store, rotation.secret, rotation.id);
      if (pending !== undefined) made = pending.prepared;
    } else if (latest === undefined || latest.version !== rotation.versions.previous) {
      throw new RotationError(
        RotationErrorCode.ConcurrentWrite,
        `the latest version is ${latest?.version ?? 'gone'}, not ${rotation.versions.previous ?? '?'}: someone else changed the secret during the rotation`,
      );
    } else {
      let prepared: PreparedCredential;
      if (olderPlan) prepared = await context.requirePrepared(rotation);
      else if (pendingKept) {
        pending = await pendingFor(rotation, latest, input);
        prepared = pending.prepared;
      } else prepared = await mint(rotation, latest, input);
      slot = rotation.strategy === Strategy.Alternating ? prepared.slot : undefined;
      made = prepared;
      const contentType = prepared.contentType ?? latest.contentType;
      const tags = tagsForNewVersion(policy.tags, { rotationId: rotation.id, ...(slot === undefined ? {} : { slot }) });
      if (pending !== undefined && Object.keys(tags).length < MAX_TAGS) tags[EngineTag.Companion] = pendingRef(rotation.secret).name;
      const written = await store.setSecret(rotation.secret, {
        value: prepared.value,
        tags,
        expiresOn: new Date(now.getTime() + policy.validityMs),
        ...(contentType === undefined ? {} : { contentType }),
      });
      promoted = written.version;
    }
    // What a prepare step would have recorded (the slot, the rotator's refs, the pending version) is recorded here.
    const recorded = !olderPlan;
    return {
      outcome: { kind: 'succeeded', detail: `new version ${promoted}${recorded && slot !== undefined ? ` on slot ${slot}` : ''}` },
      patch: {
        versions: { ...rotation.versions, promoted, ...(pending === undefined ? {} : { pending: pending.version }) },
        ...(recorded && slot !== undefined ? { slots: { ...rotation.slots, next: slot } } : {}),
        ...(recorded && (made.contentType !== undefined || made.refs !== undefined)
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

  return { run, undo: promoteUndo(context) };
}
