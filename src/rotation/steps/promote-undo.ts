import { Strategy } from '../model.js';
import { findPending, readPending } from '../pending.js';
import { currentSlot, EngineTag, tagsForNewVersion } from '../policy.js';
import type { Rotation , StepName} from '../model.js';
import type { StoredSecret } from '../ports.js';
import type { PreparedCredential } from '../rotator.js';
import { keepsPending, ranPrepareStep, type StepContext, type StepInput, type UndoStep } from './context.js';

/**
 * Undo of promote, in this order, each part safe to run again:
 * 1. If the latest version is the promoted one, the previous value is written
 *    back as a new latest version (disabling the latest would answer 403 to
 *    every consumer): consumers go back first. A latest version somebody else
 *    wrote meanwhile wins: nothing is restored over it.
 * 2. The provider, when promote itself called the rotator (no prepare step
 *    ran): rotator `restore(previous, prepared)` puts the previous credential
 *    back (single) or undoes the mint (alternating). The prepared credential
 *    is the pending version's, else (alternating) the value and slot read
 *    back from the promoted version, still enabled here. Neither readable
 *    means nothing is left to undo: an earlier run of this undo finished
 *    (they are disabled last), or the value was never kept anywhere (a mint
 *    whose write never landed: its slot is in use by no one, and the next
 *    rotation mints it again; a single value never written as pending was
 *    never applied).
 * 3. The promoted version is disabled, then the pending one.
 * A rotation whose prepare step ran leaves 2 and the pending version to the
 * `applied` and `prepared` undo records below this one.
 */
export function promoteUndo(context: StepContext): UndoStep<typeof StepName.Promote> {
  const { store, ports } = context;

  /** The pending version of this rotation: recorded, or (promote failed before its commit) the companion's latest if it is ours. */
  async function pendingOf(rotation: Rotation): Promise<{ version?: string; prepared?: PreparedCredential }> {
    const recorded = rotation.versions.pending;
    if (recorded !== undefined) {
      const read = await readPending(store, rotation.secret, recorded);
      return { version: recorded, ...(read === undefined ? {} : { prepared: read.prepared }) };
    }
    const found = await findPending(store, rotation.secret, rotation.id);
    return found === undefined ? {} : { version: found.version, prepared: found.prepared };
  }

  /** The minted credential read back from the promoted version (alternating without a pending version). */
  async function mintedOf(rotation: Rotation, promoted: string | undefined): Promise<PreparedCredential | undefined> {
    if (promoted === undefined) return undefined;
    const read = await store.getVersion(rotation.secret, promoted);
    if (read.kind !== 'found') return undefined;
    const minted = read.secret;
    const slot = minted.tags[EngineTag.Slot] ?? rotation.slots?.next;
    const refs = rotation.prepared?.refs;
    return {
      value: minted.value,
      ...(slot === undefined ? {} : { slot }),
      ...(minted.contentType === undefined ? {} : { contentType: minted.contentType }),
      ...(refs === undefined ? {} : { refs }),
    };
  }

  async function restoreProvider(rotation: Rotation, prepared: PreparedCredential | undefined, previous: StoredSecret | undefined, input: StepInput): Promise<void> {
    const rotator = context.rotatorOf(rotation);
    if (rotator.restore === undefined) return;
    if (prepared === undefined) {
      input.log.warn('nothing to undo at the provider: no value of this rotation is left to undo with (undone already, or never kept)', { rotationId: rotation.id });
      return;
    }
    const before = previous ?? (await context.readVersion(rotation.secret, rotation.versions.previous, 'previous'));
    await rotator.restore(context.rotatorContext(rotation, context.credentialOf(before), input), context.credentialOf(before), prepared);
  }

  return async (record, rotation, input) => {
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
    let pendingVersion: string | undefined;
    if (!ranPrepareStep(rotation)) {
      const rotator = context.rotatorOf(rotation);
      if (keepsPending(rotator, rotation.strategy)) {
        const pending = await pendingOf(rotation);
        pendingVersion = pending.version;
        await restoreProvider(rotation, pending.prepared, previous, input);
      } else if (rotation.strategy === Strategy.Alternating) {
        await restoreProvider(rotation, await mintedOf(rotation, promoted), previous, input);
      }
    }
    await context.setEnabledIfPresent(rotation.secret, promoted, false);
    if (pendingVersion !== undefined) await context.disablePendingIfPresent({ ...rotation, versions: { ...rotation.versions, pending: pendingVersion } });
    return {
      versions: {
        ...rotation.versions,
        ...(promoted === undefined ? {} : { promoted }),
        ...(restored === undefined ? {} : { restored }),
        ...(pendingVersion === undefined ? {} : { pending: pendingVersion }),
      },
    };
  };
}
