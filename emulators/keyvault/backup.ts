import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { VaultError, vaultErrorCodes } from './errors.js';
import type { StoredVersion } from './model.js';

/**
 * Backups are opaque, encrypted blobs as in Key Vault: a client cannot read
 * values out of one, and a corrupted blob is refused. The key is derived from
 * the subscription id, so (as in Azure) a backup restores into any vault of
 * the same subscription — here, any emulator started with the same one.
 */
const FORMAT = 'rotor-keyvault-emulator-backup/1';

export function backupKeyFor(subscriptionId: string): Buffer {
  return createHash('sha256').update(`${FORMAT}:${subscriptionId}`).digest();
}

export const storedVersionSchema = z.object({
  version: z.string().regex(/^[0-9a-f]{32}$/),
  value: z.string(),
  contentType: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  enabled: z.boolean(),
  nbf: z.number().int().optional(),
  exp: z.number().int().optional(),
  created: z.number().int(),
  updated: z.number().int(),
  nearExpiryNotified: z.boolean(),
  expiredNotified: z.boolean(),
});

const backupSchema = z.object({
  format: z.literal(FORMAT),
  name: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/),
  versions: z.array(storedVersionSchema).min(1),
});

export interface SecretBackup {
  name: string;
  versions: StoredVersion[];
}

export function sealBackup(key: Buffer, backup: SecretBackup): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = Buffer.from(JSON.stringify({ format: FORMAT, ...backup }), 'utf8');
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

export function openBackup(key: Buffer, blob: string): SecretBackup {
  try {
    const bytes = Buffer.from(blob, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
    const parsed = backupSchema.parse(JSON.parse(plain.toString('utf8')));
    return { name: parsed.name, versions: parsed.versions };
  } catch {
    // Same answer as Key Vault for any blob it cannot use.
    throw new VaultError(400, vaultErrorCodes.MalformedBackupBlob, 'Backup blob contains invalid or corrupt version.');
  }
}
