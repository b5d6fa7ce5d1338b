import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import type { SecretStore, SecretVersionInfo } from '../rotation/ports.js';

/**
 * The version id of a listed secret's latest version. Key Vault's secret
 * listing names each secret without its version (`id` has none), and version
 * creation times are whole seconds, so two versions a rotation wrote in the
 * same second cannot be ordered by listing versions: the latest is read
 * instead. Its value stays inside the `SecretValue` and is dropped here.
 * `undefined` when the secret vanished or its latest version is disabled.
 */
export async function currentVersionOf(secrets: SecretStore, info: SecretVersionInfo): Promise<string | undefined> {
  if (info.version !== '') return info.version;
  try {
    return (await secrets.getLatest(info.secret))?.version;
  } catch (error) {
    // A disabled latest version answers 403 SecretDisabled: there is no current version to speak of.
    if (isSecretStoreError(error) && error.code === SecretStoreErrorCode.SecretDisabled) return undefined;
    throw error;
  }
}
