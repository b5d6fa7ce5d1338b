import { StepName, UndoAction } from '../model.js';
import type { RotationStep, StepContext, UndoableStepModule, UndoStep } from './context.js';

/** apply (single): the provider starts accepting the prepared credential. Undo: the rotator restores the previous one. */
export function applyStep(context: StepContext): UndoableStepModule<typeof StepName.Apply> {
  const run: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = context.rotatorOf(rotation);
    if (rotator.apply === undefined) return { outcome: { kind: 'succeeded', detail: 'nothing to apply at the provider' } };
    const previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
    const prepared = await context.requirePrepared(rotation);
    await rotator.apply(context.rotatorContext(rotation, context.credentialOf(previous), input), prepared);
    return {
      outcome: { kind: 'succeeded', detail: 'new credential applied at the provider' },
      undo: { step: StepName.Apply, action: UndoAction.Applied, refs: {} },
    };
  };

  const undo: UndoStep<typeof StepName.Apply> = async (_record, rotation, input) => {
    const rotator = context.rotatorOf(rotation);
    const prepared = await context.preparedOf(rotation);
    if (prepared !== undefined && rotator.restore !== undefined) {
      const previous = await context.readVersion(rotation.secret, rotation.versions.previous, 'previous');
      await rotator.restore(context.rotatorContext(rotation, context.credentialOf(previous), input), context.credentialOf(previous), prepared);
    }
    return {};
  };

  return { run, undo };
}
