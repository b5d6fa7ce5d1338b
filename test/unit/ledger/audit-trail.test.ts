import type { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { APPEND_BLOB_BLOCK_LIMIT, AUDIT_SHARDS, auditBlobName, createBlobLedger } from '../../../src/ledger/blob-ledger.js';
import { FAKE_VAULT } from '../../helpers/fakes/index.js';

/**
 * The audit trail at Key Vault's ceiling and beyond: 100,000 rotations in one
 * hour. Each rotation's history (7 entries for `random`) is one append when it
 * ends. An append blob takes at most 50,000 blocks; an hourly blob with one
 * block per entry met that after 8,333 rotations and every later write failed.
 * The same hour written to Azurite in full is `npm run test:scale` (test/scale/).
 */

const ROTATIONS = 100_000;
const HOUR = Date.parse('2026-12-04T22:00:00.000Z');

/** Rotation i ends at an even spread over the hour (a fake clock, no waiting), or all of them in `minute`. */
function endOf(rotation: number, minute?: number): Date {
  return new Date(minute === undefined ? HOUR + Math.floor((rotation * 3_600_000) / ROTATIONS) : HOUR + minute * 60_000 + (rotation % 60_000));
}

function blocksPerBlob(minute?: number): Map<string, number> {
  const perBlob = new Map<string, number>();
  for (let r = 0; r < ROTATIONS; r += 1) {
    const name = auditBlobName(endOf(r, minute), `r${r}`);
    perBlob.set(name, (perBlob.get(name) ?? 0) + 1);
  }
  return perBlob;
}

describe('audit trail at scale', () => {
  it('puts no more than a fraction of the block limit into any blob in an hour, even with one block per rotation', () => {
    // Act
    const perBlob = blocksPerBlob();

    // Assess: the worst case is every rotation's history a block of its own (no two coalesced).
    expect(Math.max(...perBlob.values())).toBeLessThan(APPEND_BLOB_BLOCK_LIMIT / 50);
    expect([...perBlob.values()].reduce((a, b) => a + b, 0)).toBe(ROTATIONS);
  });

  it('stays under the block limit even when all 100,000 rotations end in the same minute', () => {
    // Act
    const perBlob = blocksPerBlob(17);

    // Assess
    expect(perBlob.size).toBe(AUDIT_SHARDS);
    expect(Math.max(...perBlob.values())).toBeLessThan(APPEND_BLOB_BLOCK_LIMIT * 0.6);
  });

  it('spills into a new blob when one is full, and says nothing of it to the caller', async () => {
    // Prepare: a container whose first blob answers as a full append blob does.
    const appended = new Map<string, string[]>();
    const full = auditBlobName(new Date('2026-12-04T22:10:00.000Z'), 'r-spill');
    const container = {
      getAppendBlobClient: (name: string) => ({
        appendBlock: (body: string) => {
          if (name === full) return Promise.reject(Object.assign(new Error('full'), { name: 'RestError', statusCode: 409, code: 'BlockCountExceedsLimit' }));
          appended.set(name, [...(appended.get(name) ?? []), body]);
          return Promise.resolve({ blobCommittedBlockCount: appended.get(name)!.length });
        },
        createIfNotExists: () => Promise.resolve({}),
      }),
    } as unknown as ContainerClient;
    const ledger = createBlobLedger({ container });
    const secret = { vaultUrl: FAKE_VAULT, name: 'spilled' };

    // Act
    await ledger.appendAudit([{ at: '2026-12-04T22:10:01.000Z', rotationId: 'r-spill', secret, event: 'rotation.created' }]);
    await ledger.appendAudit([{ at: '2026-12-04T22:10:02.000Z', rotationId: 'r-spill', secret, event: 'step.begin.succeeded' }]);

    // Assess
    expect(full.endsWith('.jsonl')).toBe(true);
    const spill = full.replace(/\.jsonl$/, '.1.jsonl');
    expect([...appended.keys()]).toEqual([spill]);
    expect(appended.get(spill)!.join('')).toContain('step.begin.succeeded');
  });
});
