import { RotationError, RotationErrorCode } from '../errors.js';
import { StepName, Strategy, UndoAction } from '../model.js';
import { findPending, writePending } from '../pending.js';
import type { RotationStep, StepContext, UndoableStepModule, UndoStep } from './context.js';

/**
 * prepare: the rotator mints (alternating: on the inactive slot) or generates
 * (single) the new credential; its value waits in the pending companion secret.
 * Undo: alternating rotators restore the slot; the pending version is disabled.
 */
export function prepareStep(context: StepContext): UndoableStepModule<typeof StepName.Prepare> {
  const { store } = context;

  const run: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = context.rotatorOf(rotation);
    let pending = await findPending(store, rotation.secret, rotation.id);
    if (pending === undefined) {
      const previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
      const prepared = await rotator.prepare(context.rotatorContext(rotation, context.credentialOf(previous), input));
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

  const undo: UndoStep<typeof StepName.Prepare> = async (_record, rotation, input) => {
    const prepared = await context.preparedOf(rotation);
    // A disabled pending version means an earlier attempt finished this undo up to the disable.
    if (prepared === undefined) return {};
    const rotator = context.rotatorOf(rotation);
    if (rotation.strategy === Strategy.Alternating && rotator.restore !== undefined) {
      const previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
      await rotator.restore(context.rotatorContext(rotation, context.credentialOf(previous), input), context.credentialOf(previous), prepared);
    }
    await context.disablePendingIfPresent(rotation);
    return {};
  };

  return { run, undo };
}
