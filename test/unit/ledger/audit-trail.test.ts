import type { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { APPEND_BLOB_BLOCK_LIMIT, auditBlobName, createBlobLedger } from '../../../src/ledger/blob-ledger.js';
import type { AuditEntry } from '../../../src/rotation/ports.js';
import { FAKE_VAULT } from '../../helpers/fakes/index.js';

/**
 * The audit trail at Key Vault's ceiling and beyond: 100,000 rotations in one
 * hour, 6 entries each. An append blob takes at most 50,000 blocks; an hourly
 * blob met that after 8,333 rotations and every later write failed. The same
 * hour written to Azurite in full is `npm run test:scale` (test/scale/).
 */

const ROTATIONS = 100_000;
const ENTRIES_PER_ROTATION = 6;
const HOUR = Date.parse('2026-12-04T22:00:00.000Z');
const events = ['rotation.created', 'step.begin.succeeded', 'step.prepare.succeeded', 'step.promote.succeeded', 'step.verify.succeeded', 'step.retire.succeeded'];

/** Rotation i starts at an even spread over the hour; its entries follow one second apart (a fake clock, no waiting). */
function entryOf(rotation: number, step: number): AuditEntry {
  const startMs = HOUR + Math.floor((rotation * 3_600_000) / ROTATIONS) - 6_000;
  return {
    at: new Date(Math.max(HOUR, startMs + step * 1_000)).toISOString(),
    // Short names keep the test's bytes down; the blob layout depends on time and rotation id only.
    rotationId: `r${rotation}`,
    secret: { vaultUrl: 'https://kv', name: `s${rotation}` },
    event: events[step]!,
  };
}

describe('audit trail at scale', () => {
  it('puts no more than a fraction of the block limit into any blob, even with one block per entry', () => {
    // Prepare
    const perBlob = new Map<string, number>();

    // Act
    for (let r = 0; r < ROTATIONS; r += 1) {
      for (let s = 0; s < ENTRIES_PER_ROTATION; s += 1) {
        const entry = entryOf(r, s);
        const name = auditBlobName(new Date(entry.at), entry.rotationId);
        perBlob.set(name, (perBlob.get(name) ?? 0) + 1);
      }
    }

    // Assess: the worst case is every entry a block of its own.
    const most = Math.max(...perBlob.values());
    expect(most).toBeLessThan(APPEND_BLOB_BLOCK_LIMIT / 10);
    expect([...perBlob.values()].reduce((a, b) => a + b, 0)).toBe(ROTATIONS * ENTRIES_PER_ROTATION);
  }, 60_000);

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
    await ledger.appendAudit({ at: '2026-12-04T22:10:01.000Z', rotationId: 'r-spill', secret, event: 'rotation.created' });
    await ledger.appendAudit({ at: '2026-12-04T22:10:02.000Z', rotationId: 'r-spill', secret, event: 'step.begin.succeeded' });

    // Assess
    expect(full.endsWith('.jsonl')).toBe(true);
    const spill = full.replace(/\.jsonl$/, '.1.jsonl');
    expect([...appended.keys()]).toEqual([spill]);
    expect(appended.get(spill)!.join('')).toContain('step.begin.succeeded');
  });
});
