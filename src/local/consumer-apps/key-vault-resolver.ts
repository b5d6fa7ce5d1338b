import type { SecretClient } from '@azure/keyvault-secrets';
import type { KeyVaultResolver } from '../../../emulators/azure-management/consumer-apps.js';

/**
 * How the ARM stand-in's App Service sites read their Key Vault references:
 * through a real `SecretClient` on the Key Vault emulator, as a site's managed
 * identity would (Key Vault Secrets User). Only the version is kept.
 */
export function keyVaultResolver(client: SecretClient): KeyVaultResolver {
  return async (secretName, pinnedVersion) => {
    try {
      const secret = await client.getSecret(secretName, pinnedVersion === undefined ? {} : { version: pinnedVersion });
      return { status: 'Resolved', version: secret.properties.version ?? '' };
    } catch (error) {
      const status = typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
      if (status === 404) {
        return pinnedVersion === undefined
          ? { status: 'SecretNotFound', details: `Secret ${secretName} was not found in the vault.` }
          : { status: 'SecretVersionNotFound', details: `Version ${pinnedVersion} of ${secretName} was not found.` };
      }
      if (status === 401 || status === 403) return { status: 'AccessToKeyVaultDenied', details: 'The identity was refused by Key Vault.' };
      return { status: 'OtherReasons', details: 'Key Vault could not be reached.' };
    }
  };
}
