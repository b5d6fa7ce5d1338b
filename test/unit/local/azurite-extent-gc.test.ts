import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { requireAzuriteBlob } from '../../../emulators/azurite-module.js';

interface ExtentMetadata {
  init(): Promise<void>;
  close(): Promise<void>;
  updateExtent(extent: { id: string; locationId: string; path: string; size: number; lastModifiedInMS: number }): Promise<void>;
  deleteExtent(id: string): Promise<void>;
  readonly db: { getCollection(name: string): { count(): number; findOne(query: object): object | null } };
  readonly EXTENTS_COLLECTION: string;
}
interface LokiCollectionPrototype {
  ensureAllIndexes(this: LokiCollectionPrototype, force?: boolean): void;
}

const require = createRequire(import.meta.url);
const azurite = createRequire(require.resolve('azurite/package.json'));

it("Azurite's garbage collector deletes extents without re-sorting the index each time, and lets the event loop run while it sweeps", async () => {
  requireAzuriteBlob();
  const { default: LokiExtentMetadata } = azurite('azurite/dist/src/common/persistence/LokiExtentMetadataStore.js') as { default: new (path: string, inMemory: boolean) => ExtentMetadata };
  const collection = (azurite('lokijs') as { Collection: { prototype: LokiCollectionPrototype } }).Collection.prototype;
  const store = new LokiExtentMetadata('extents-in-memory.db', true);
  await store.init();
  for (let i = 0; i < 2_000; i += 1) await store.updateExtent({ id: `extent-${i}`, locationId: 'Default', path: `extent-${i}`, size: 10, lastModifiedInMS: i });

  const ensureAll: LokiCollectionPrototype['ensureAllIndexes'] = Reflect.get(collection, 'ensureAllIndexes');
  let resorts = 0;
  collection.ensureAllIndexes = function counted(this: LokiCollectionPrototype, force?: boolean): void {
    resorts += 1;
    ensureAll.call(this, force);
  };
  let deleting = -1;
  let turnAt = -1;
  setImmediate(() => {
    turnAt = deleting;
  });
  try {
    // As MemoryExtentStore.deleteExtents and FSExtentStore.deleteExtents sweep: one awaited deletion after another.
    for (deleting = 0; deleting < 1_000; deleting += 1) await store.deleteExtent(`extent-${deleting * 2}`);
  } finally {
    collection.ensureAllIndexes = ensureAll;
  }
  const finishedTurnAt = turnAt;

  // Before: one full re-sort of the id index per extent deleted, and no other work ran until the sweep ended.
  expect(resorts).toBe(0);
  expect(finishedTurnAt).toBeGreaterThanOrEqual(0);
  expect(finishedTurnAt).toBeLessThan(1_000);
  const extents = store.db.getCollection(store.EXTENTS_COLLECTION);
  expect(extents.count()).toBe(1_000);
  expect(extents.findOne({ id: 'extent-0' })).toBeNull();
  expect(extents.findOne({ id: 'extent-1' })).not.toBeNull();
  expect(extents.findOne({ id: 'extent-1999' })).not.toBeNull();
  await store.deleteExtent('no-such-extent');
  expect(extents.count()).toBe(1_000);
  await store.close();
});
