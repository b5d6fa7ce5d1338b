import type { RotationPatch } from '../machine.js';
import { StepName, type Rotation, type UndoRecord } from '../model.js';
import type { RotationStep, StepInput, UndoableStepModule } from './context.js';

export interface Undoers {
  readonly prepare: UndoableStepModule<typeof StepName.Prepare>['undo'];
  readonly apply: UndoableStepModule<typeof StepName.Apply>['undo'];
  readonly promote: UndoableStepModule<typeof StepName.Promote>['undo'];
}

/** rollback: walks the undo stack newest first; each undo is recorded as it completes, so a crash resumes where it stopped. */
export function rollbackStep(undoers: Undoers): { readonly run: RotationStep } {
  function undo(record: UndoRecord, rotation: Rotation, input: StepInput): Promise<RotationPatch> {
    switch (record.step) {
      case StepName.Prepare:
        return undoers.prepare(record, rotation, input);
      case StepName.Apply:
        return undoers.apply(record, rotation, input);
      case StepName.Promote:
        return undoers.promote(record, rotation, input);
    }
  }

  const run: RotationStep = async (input) => {
    let rotation = input.rotation;
    const done: string[] = [];
    for (let record = rotation.undo.at(-1); record !== undefined; record = rotation.undo.at(-1)) {
      const patch = await undo(record, rotation, input);
      done.push(record.action);
      rotation = await input.checkpoint({ ...patch, undo: rotation.undo.slice(0, -1) });
    }
    const restored = rotation.versions.restored;
    return { outcome: { kind: 'succeeded', detail: `${done.length === 0 ? 'nothing left to undo' : `undid ${done.join(', ')}`}${restored === undefined ? '' : `; previous value restored as ${restored}`}` } };
  };
  return { run };
}
