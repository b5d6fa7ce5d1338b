import type { ContainerClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { readRestError, RestFailureKind } from '../azure/rest-error.js';

/** Which warning: one per object, version and threshold. */
export interface WarningKey {
  readonly objectKey: string;
  readonly version: string;
  /** The threshold as configured, e.g. `P7D` (milliseconds are used for the name). */
  readonly thresholdMs: number;
}

/**
 * The "already warned" record, shared by every instance. `claim` succeeds for
 * exactly one caller per key, whichever instance it runs on; `release` gives
 * a claim back when the warning could not be sent, so the next sweep tries
 * again.
 */
export interface WarningRecord {
  claim(key: WarningKey, at: Date): Promise<boolean>;
  release(key: WarningKey): Promise<void>;
}

/** Blob name of a warning: readable prefix, hashed tail (object keys hold any characters a name may hold). */
export function warningBlobName(key: WarningKey): string {
  const digest = createHash('sha256').update(`${key.objectKey}\n${key.version}`).digest('hex').slice(0, 32);
  return `warnings/${digest}/${key.thresholdMs}.json`;
}

/**
 * The record as blobs in the ledger's container (`warnings/<hash>/<threshold ms>.json`),
 * created with `If-None-Match: *`: Blob Storage lets one create win and
 * answers the others 409, so two instances sweeping at once warn once.
 * Needs what the ledger needs: Storage Blob Data Contributor on the container.
 */
export function createBlobWarningRecord(container: ContainerClient): WarningRecord {
  return {
    async claim(key, at) {
      const body = JSON.stringify({ objectKey: key.objectKey, version: key.version, thresholdMs: key.thresholdMs, warnedAt: at.toISOString() });
      try {
        await container.getBlockBlobClient(warningBlobName(key)).upload(body, Buffer.byteLength(body), {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
        return true;
      } catch (error) {
        if (readRestError(error)?.kind === RestFailureKind.Conflict) return false;
        throw error;
      }
    },
    async release(key) {
      await container.getBlockBlobClient(warningBlobName(key)).deleteIfExists();
    },
  };
}
