import { isSecretStoreError, SecretStoreErrorCode } from '../../keyvault/errors.js';
import type { StoredSecret } from '../ports.js';
import type { RotationStep, StepContext } from './context.js';

/** revoke (revoke-after): the provider invalidates the superseded credential, then its version is disabled. Never undone. */
export function revokeStep(context: StepContext): { readonly run: RotationStep } {
  const { store } = context;
  const run: RotationStep = async (input) => {
    const { rotation } = input;
    const rotator = context.rotatorOf(rotation);
    const previousVersion = rotation.versions.previous;
    if (previousVersion === undefined) return { outcome: { kind: 'succeeded', detail: 'no superseded version recorded' } };
    let superseded: StoredSecret | undefined;
    try {
      superseded = await store.getVersion(rotation.secret, previousVersion);
    } catch (error) {
      // Disabled: an earlier attempt revoked it and then disabled the version.
      if (isSecretStoreError(error, SecretStoreErrorCode.SecretDisabled)) return { outcome: { kind: 'succeeded', detail: 'already revoked' } };
      throw error;
    }
    if (superseded !== undefined) {
      const promoted = await context.readVersion(rotation.secret, rotation.versions.promoted, 'promoted');
      await rotator.revoke?.(context.rotatorContext(rotation, context.credentialOf(promoted), input), context.credentialOf(superseded));
      await store.setEnabled(rotation.secret, superseded.version, false);
    }
    return { outcome: { kind: 'succeeded', detail: `superseded credential revoked, version ${previousVersion} disabled` } };
  };
  return { run };
}
