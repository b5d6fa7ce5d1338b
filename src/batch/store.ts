import type { ContainerClient } from '@azure/storage-blob';
import { readRestError, RestFailureKind } from '../azure/rest-error.js';
import { LedgerError, LedgerErrorCode, ledgerErrorOf } from '../ledger/errors.js';
import { batchSchema, type Batch } from './model.js';

/**
 * Where batch records live: the ledger's container, `batches/<id>.json`,
 * created once with `If-None-Match: *`. Storage failures are the ledger's
 * errors, so callers treat them alike.
 */
export interface BatchStore {
  createBatch(batch: Batch): Promise<void>;
  getBatch(id: string): Promise<Batch | undefined>;
}

export function createBlobBatchStore(container: ContainerClient): BatchStore {
  const blobName = (id: string): string => `batches/${id}.json`;
  return {
    async createBatch(batch) {
      const body = JSON.stringify(batch);
      try {
        await container.getBlockBlobClient(blobName(batch.id)).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
          conditions: { ifNoneMatch: '*' },
        });
      } catch (error) {
        throw ledgerErrorOf(error, `create batch ${batch.id}`);
      }
    },
    async getBatch(id) {
      let text: string;
      try {
        text = (await container.getBlockBlobClient(blobName(id)).downloadToBuffer()).toString('utf8');
      } catch (error) {
        if (readRestError(error)?.kind === RestFailureKind.NotFound) return undefined;
        throw ledgerErrorOf(error, `read batch ${id}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new LedgerError(LedgerErrorCode.Corrupt, `batch ${id} is not JSON`);
      }
      const parsed = batchSchema.safeParse(json);
      if (!parsed.success) throw new LedgerError(LedgerErrorCode.Corrupt, `batch ${id} does not parse: ${parsed.error.issues[0]?.path.join('.') ?? ''}`);
      return parsed.data;
    },
  };
}
