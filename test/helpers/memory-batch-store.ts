import type { Batch } from '../../src/batch/model.js';
import type { BatchStore } from '../../src/batch/store.js';
import { LedgerConflictError } from '../../src/ledger/errors.js';

/** The batch store in memory; passes the same conformance suite as the blob adapter. */
export function createMemoryBatchStore(): BatchStore & { readonly batches: Map<string, Batch> } {
  const batches = new Map<string, Batch>();
  return {
    batches,
    createBatch(batch) {
      if (batches.has(batch.id)) return Promise.reject(new LedgerConflictError(`batch ${batch.id} exists`));
      batches.set(batch.id, structuredClone(batch));
      return Promise.resolve();
    },
    getBatch(id) {
      const batch = batches.get(id);
      return Promise.resolve(batch === undefined ? undefined : structuredClone(batch));
    },
  };
}
