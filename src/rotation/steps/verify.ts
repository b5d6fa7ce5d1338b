import { checkHealthGate } from '../../health/gate.js';
import type { RotationStep, StepContext } from './context.js';

/** verify: the rotator's self-test, then the consumers' probes. Reads only; a failure here still rolls back (the machine decides). */
export function verifyStep(context: StepContext): { readonly run: RotationStep } {
  const run: RotationStep = async (input) => {
    const { rotation } = input;
    const policy = context.policyOf(rotation);
    const rotator = context.rotatorOf(rotation);
    const promoted = await context.readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
    const gate = await checkHealthGate({
      selfTest: () => rotator.test(context.rotatorContext(rotation, context.credentialOf(promoted), input), promoted.value),
      probe: context.ports.healthProbe,
      targets: policy.health,
    });
    if (!gate.healthy) return { outcome: { kind: 'unhealthy', reason: gate.reason } };
    return { outcome: { kind: 'succeeded', detail: policy.health.length === 0 ? 'self-test passed' : `self-test and ${policy.health.length} probe(s) passed` } };
  };
  return { run };
}
