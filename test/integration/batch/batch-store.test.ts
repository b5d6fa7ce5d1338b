import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../../src/batch/model.js';
import { createBlobBatchStore, type BatchStore } from '../../../src/batch/store.js';
import { isLedgerConflictError, isLedgerError, LedgerErrorCode } from '../../../src/ledger/errors.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';
import { createMemoryBatchStore } from '../../helpers/memory-batch-store.js';

let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
});

afterAll(async () => {
  await azurite.stop();
});

async function blobStore(): Promise<BatchStore & { corrupt(id: string): Promise<void> }> {
  const container = azurite.client().getContainerClient(`ledger-${randomBytes(6).toString('hex')}`);
  await container.createIfNotExists();
  return {
    ...createBlobBatchStore(container),
    corrupt: async (id) => {
      await container.getBlockBlobClient(`batches/${id}.json`).upload('{"id":1}', 8);
    },
  };
}

const batch: Batch = {
  id: 'b-0123456789abcdef01234567',
  vaultUrl: 'https://kv-app.vault.azure.net',
  selector: { tags: { team: 'orders' } },
  reason: 'INC-4711',
  dryRun: false,
  force: false,
  createdAt: '2026-12-04T22:00:00.000Z',
  items: [
    { secret: 'orders-db', outcome: 'started', rotationId: 'r-1', startAt: '2026-12-04T22:00:10.000Z' },
    { secret: 'orders-api', outcome: 'active', rotationId: 'r-0' },
    { secret: 'legacy', outcome: 'skipped', reason: 'unmanaged' },
  ],
};

describe.each([
  ['blob (Azurite)', blobStore],
  ['memory', () => Promise.resolve(createMemoryBatchStore())],
])('BatchStore: %s', (_name, make) => {
  it('reads back what it created, and nothing for an unknown id', async () => {
    const store = await make();

    await store.createBatch(batch);

    expect(await store.getBatch(batch.id)).toEqual(batch);
    expect(await store.getBatch('b-ffffffffffffffffffffffff')).toBeUndefined();
  });

  it('refuses to create the same id twice with a conflict, keeping the first', async () => {
    const store = await make();
    await store.createBatch(batch);

    const second = await store.createBatch({ ...batch, reason: 'other' }).catch((error: unknown) => error);

    expect(isLedgerConflictError(second)).toBe(true);
    expect((await store.getBatch(batch.id))?.reason).toBe('INC-4711');
  });
});

describe('BatchStore: blob', () => {
  it('refuses a record that does not parse as Corrupt', async () => {
    const store = await blobStore();
    await store.corrupt(batch.id);

    const error = await store.getBatch(batch.id).catch((e: unknown) => e);

    expect(isLedgerError(error) ? error.code : error).toBe(LedgerErrorCode.Corrupt);
  });
});
