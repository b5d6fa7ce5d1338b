import type { RotationStep, StepContext } from './context.js';

/** retire: the superseded version is disabled (or, with revoke-after, left for revoke) and the pending one too. Never undone: the new credential is verified. */
export function retireStep(context: StepContext): { readonly run: RotationStep } {
  const run: RotationStep = async ({ rotation }) => {
    const policy = context.policyOf(rotation);
    // With revoke-after, the superseded version stays enabled until its credential is revoked.
    if (policy.revokeAfterMs === undefined) await context.setEnabledIfPresent(rotation.secret, rotation.versions.previous, false);
    await context.disablePendingIfPresent(rotation);
    return { outcome: { kind: 'succeeded', detail: policy.revokeAfterMs === undefined ? `version ${rotation.versions.previous ?? '?'} disabled` : 'revocation scheduled' } };
  };
  return { run };
}
