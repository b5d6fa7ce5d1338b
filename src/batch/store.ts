import type { ContainerClient } from '@azure/storage-blob';
import { LedgerConflictError, LedgerError, LedgerErrorCode } from '../ledger/errors.js';
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

function statusOf(error: unknown): number | undefined {
  if (error instanceof Error && error.name === 'RestError') return (error as Error & { statusCode?: number }).statusCode;
  return undefined;
}

function translate(error: unknown, what: string): LedgerError {
  const status = statusOf(error);
  if (status === 409 || status === 412) return new LedgerConflictError(`${what}: exists (${status})`, { cause: error });
  if (status === 401 || status === 403) return new LedgerError(LedgerErrorCode.Forbidden, `${what}: ${status}`, { cause: error });
  return new LedgerError(status === undefined || status === 429 || status >= 500 ? LedgerErrorCode.Unavailable : LedgerErrorCode.Unknown, `${what}: ${status ?? 'error'}`, { cause: error });
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
        throw translate(error, `create batch ${batch.id}`);
      }
    },
    async getBatch(id) {
      let text: string;
      try {
        text = (await container.getBlockBlobClient(blobName(id)).downloadToBuffer()).toString('utf8');
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw translate(error, `read batch ${id}`);
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
