import type { RotationStep, StepContext } from './context.js';

/** revoke (revoke-after): the provider invalidates the superseded credential, then its version is disabled. Never undone. */
export function revokeStep(context: StepContext): { readonly run: RotationStep } {
  const { store } = context;
  const run: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = context.rotatorOf(rotation);
    const previousVersion = rotation.versions.previous;
    if (previousVersion === undefined) return { outcome: { kind: 'succeeded', detail: 'no superseded version recorded' } };
    const read = await store.getVersion(rotation.secret, previousVersion);
    // Disabled: an earlier attempt revoked it and then disabled the version.
    if (read.kind === 'disabled') return { outcome: { kind: 'succeeded', detail: 'already revoked' } };
    if (read.kind === 'found') {
      const superseded = read.secret;
      const promoted = await context.readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
      await rotator.revoke?.(context.rotatorContext(rotation, context.credentialOf(promoted), input), context.credentialOf(superseded));
      await store.setEnabled(rotation.secret, superseded.version, false);
    }
    return { outcome: { kind: 'succeeded', detail: `superseded credential revoked, version ${previousVersion} disabled` } };
  };
  return { run };
}
