import type { StepName } from '../model.js';
import { applyStep } from './apply.js';
import { beginStep } from './begin.js';
import { createStepContext, type RotationStep, type StepPorts } from './context.js';
import { prepareStep } from './prepare.js';
import { promoteStep } from './promote.js';
import { retireStep } from './retire.js';
import { revokeStep } from './revoke.js';
import { rollbackStep } from './rollback.js';
import { verifyStep } from './verify.js';

export type { RotationStep, StepInput, StepPorts, StepResult } from './context.js';
export type { RotationPatch } from '../machine.js';

/**
 * The side-effecting half of the engine: one module per step, each built from
 * the ports (so the same steps run on fakes and on the emulators), with the
 * world-changing ones holding their undo beside their action.
 */
export function createRotationSteps(ports: StepPorts): Readonly<Record<StepName, RotationStep>> {
  const context = createStepContext(ports);
  const prepare = prepareStep(context);
  const apply = applyStep(context);
  const promote = promoteStep(context);
  return {
    begin: beginStep(context).run,
    prepare: prepare.run,
    apply: apply.run,
    promote: promote.run,
    verify: verifyStep(context).run,
    retire: retireStep(context).run,
    revoke: revokeStep(context).run,
    rollback: rollbackStep({ prepare: prepare.undo, apply: apply.undo, promote: promote.undo }).run,
  };
}
