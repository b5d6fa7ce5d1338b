import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Key Vault secret names: 1-127 letters, digits and hyphens. */
export const secretNameSchema = z
  .string()
  .regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be 1-127 letters, digits or hyphens (a Key Vault secret name)');

/** A vault URL reduced to its origin (`https://kv-app.vault.azure.net`). */
export const vaultUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be a vault URL such as https://kv-app.vault.azure.net' })
  .transform((v) => new URL(v).origin);

/** Which secret: the unit of rotation, locking and Service Bus sessions. */
export interface SecretRef {
  /** Vault origin, no trailing slash: `https://kv-app.vault.azure.net`. */
  readonly vaultUrl: string;
  readonly name: string;
}

export const secretRefSchema = z.object({ vaultUrl: vaultUrlSchema, name: secretNameSchema });

/** `kv-app.vault.azure.net/db-password`: stable, readable, used in logs and keys. */
export function formatSecretRef(ref: SecretRef): string {
  return `${new URL(ref.vaultUrl).host}/${ref.name}`;
}

/**
 * Ten hex characters that identify a secret (vault + name, case-insensitive) in
 * names that providers limit in length: stored access policy ids, client secret
 * display names. Stable across releases: credentials already named with it are
 * found again by it.
 */
export function secretFingerprint(ref: SecretRef): string {
  return createHash('sha256').update(`${ref.vaultUrl}/${ref.name.toLowerCase()}`).digest('hex').slice(0, 10);
}
