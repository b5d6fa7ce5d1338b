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
  const read = await secrets.getLatest(info.secret);
  // A disabled latest version has no current version to speak of.
  return read.kind === 'found' ? read.secret.version : undefined;
}
