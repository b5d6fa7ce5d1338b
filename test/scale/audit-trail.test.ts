import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND_BLOB_BLOCK_LIMIT, auditBlobName, createBlobLedger } from '../../src/ledger/blob-ledger.js';
import type { AuditEntry } from '../../src/rotation/ports.js';
import { startAzuriteBlob, type AzuriteBlob } from '../helpers/azurite.js';

/**
 * 100,000 rotations' worth of audit entries (6 each) written in one hour, on a
 * fake clock, through the real ledger to Azurite: every byte kept, no blob near
 * the 50,000-block limit. Heavy (600,000 entries), so not part of `npm test`:
 * `npm run test:scale`. The arithmetic of the same hour is checked in
 * test/integration/ledger/audit-trail-scale.test.ts.
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

let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
});

afterAll(async () => {
  await azurite.stop();
});

describe('audit trail at scale, on Azurite', () => {
  it('keeps 100,000 rotations worth of entries written in one hour on Azurite', async () => {
    // Prepare
    const container = azurite.client().getContainerClient(`audit-${randomBytes(6).toString('hex')}`);
    const ledger = createBlobLedger({ container });
    await ledger.ensureContainer();
    let expectedBytes = 0;

    // Act: in waves of 10,000 rotations, all their appends at once (they coalesce per blob).
    const WAVE = 10_000;
    for (let first = 0; first < ROTATIONS; first += WAVE) {
      const appends: Promise<void>[] = [];
      for (let s = 0; s < ENTRIES_PER_ROTATION; s += 1) {
        for (let r = first; r < first + WAVE; r += 1) {
          const entry = entryOf(r, s);
          expectedBytes += Buffer.byteLength(`${JSON.stringify(entry)}\n`);
          appends.push(ledger.appendAudit(entry));
        }
      }
      await Promise.all(appends);
    }

    // Assess: every byte is there, no blob near its block limit, and lines parse.
    let bytes = 0;
    let blobs = 0;
    let mostBlocks = 0;
    for await (const item of container.listBlobsFlat({ prefix: 'audit/' })) {
      blobs += 1;
      bytes += item.properties.contentLength ?? 0;
      const properties = await container.getAppendBlobClient(item.name).getProperties();
      mostBlocks = Math.max(mostBlocks, properties.blobCommittedBlockCount ?? 0);
    }
    expect(bytes).toBe(expectedBytes);
    expect(blobs).toBeGreaterThan(60);
    expect(mostBlocks).toBeLessThan(APPEND_BLOB_BLOCK_LIMIT);
    const sample = (await container.getBlobClient(auditBlobName(new Date(entryOf(50_000, 0).at), entryOf(50_000, 0).rotationId)).downloadToBuffer()).toString('utf8');
    const lines = sample.trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    expect(lines.some((l) => l.rotationId === entryOf(50_000, 0).rotationId && l.event === 'rotation.created')).toBe(true);
  }, 900_000);

});
