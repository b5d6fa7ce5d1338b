import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { requireAzuriteBlob } from '../../../emulators/azurite-module.js';

interface LokiDoc {
  readonly name: string;
}
interface LokiCollection {
  insert(doc: object): unknown;
  findOne(query: object): LokiDoc | null;
}
interface Loki {
  new (name: string): { addCollection(name: string, options: { indices: string[] }): LokiCollection };
  LokiOps: Record<string, (a: unknown, b: unknown, record: unknown) => boolean>;
}

/** The LokiJS that Azurite loads. */
function azuriteLoki(): Loki {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('azurite/package.json'))('lokijs') as Loki;
}

/** Equality tests LokiJS evaluates document by document (an index lookup evaluates none). */
function countingEquality(loki: Loki): { evaluated(): number; restore(): void } {
  const eq = loki.LokiOps['$eq']!;
  let evaluated = 0;
  loki.LokiOps['$eq'] = (a, b, record) => {
    evaluated += 1;
    return eq(a, b, record);
  };
  return { evaluated: () => evaluated, restore: () => void (loki.LokiOps['$eq'] = eq) };
}

describe('Azurite loaded by requireAzuriteBlob: blob lookups use the name index', () => {
  requireAzuriteBlob();
  const loki = azuriteLoki();
  const db = new loki('lookups.db');
  // As Azurite's LokiBlobMetadataStore creates its blob and block collections.
  const blobs = db.addCollection('$BLOBS_COLLECTION$', { indices: ['accountName', 'containerName', 'name', 'snapshot'] });
  const blocks = db.addCollection('$BLOCKS_COLLECTION$', { indices: ['accountName', 'containerName', 'blobName', 'name'] });
  const account = 'devstoreaccount1';
  for (let i = 0; i < 2_000; i += 1) {
    blobs.insert({ accountName: account, containerName: 'rotor-ledger', name: `rotations/${i}.json`, snapshot: '' });
    blocks.insert({ accountName: account, containerName: 'rotor-ledger', blobName: `audit/${i}.jsonl`, name: `block-${i % 7}` });
  }

  it('finds one blob of 2,000 in the same account by evaluating a handful of clauses, not one per blob', () => {
    const counter = countingEquality(loki);
    try {
      const found = blobs.findOne({ accountName: account, containerName: 'rotor-ledger', name: 'rotations/1234.json', snapshot: '' });
      expect(found?.name).toBe('rotations/1234.json');
      expect(counter.evaluated()).toBeLessThan(20);
    } finally {
      counter.restore();
    }
  });

  it('still answers null for a blob that is not there, and still filters on every clause', () => {
    expect(blobs.findOne({ accountName: account, containerName: 'rotor-ledger', name: 'rotations/none.json', snapshot: '' })).toBeNull();
    expect(blobs.findOne({ accountName: account, containerName: 'other-container', name: 'rotations/7.json', snapshot: '' })).toBeNull();
  });

  it('looks blocks up through blobName when no name is asked for', () => {
    const counter = countingEquality(loki);
    try {
      const found = blocks.findOne({ accountName: account, containerName: 'rotor-ledger', blobName: 'audit/42.jsonl' });
      expect(found?.name).toBe('block-0');
      expect(counter.evaluated()).toBeLessThan(20);
    } finally {
      counter.restore();
    }
  });
});
