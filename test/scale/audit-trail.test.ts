import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPEND_BLOB_BLOCK_LIMIT, auditBlobName, createBlobLedger } from '../../src/ledger/blob-ledger.js';
import type { AuditEntry } from '../../src/rotation/ports.js';
import { startAzuriteBlob, type AzuriteBlob } from '../helpers/azurite.js';

/**
 * 100,000 rotations ending in one hour, on a fake clock, through the real
 * ledger to Azurite: each appends its whole history (7 entries, as a `random`
 * rotation's: created, 5 steps, ended) once, as the engine does when a
 * rotation ends. Every byte kept, every history whole in one blob, no blob near
 * the 50,000-block limit. Heavy (700,000 entries), so not part of `npm test`:
 * `npm run test:scale`. The arithmetic of the same hour, and of all of it in
 * one minute, is checked in test/unit/ledger/audit-trail.test.ts.
 */

const ROTATIONS = 100_000;
const HOUR = Date.parse('2026-12-04T22:00:00.000Z');
const events = ['rotation.created', 'step.begin.succeeded', 'step.promote.succeeded', 'step.nudge.succeeded', 'step.verify.succeeded', 'step.retire.succeeded', 'rotation.ended'];

/** Rotation i ends at an even spread over the hour; its entries come one second apart before that. */
function historyOf(rotation: number): AuditEntry[] {
  const endMs = HOUR + Math.floor((rotation * 3_600_000) / ROTATIONS);
  return events.map((event, step) => ({
    at: new Date(endMs - (events.length - 1 - step) * 1_000).toISOString(),
    // Short names keep the test's bytes down; the blob layout depends on the end time and rotation id only.
    rotationId: `r${rotation}`,
    secret: { vaultUrl: 'https://kv', name: `s${rotation}` },
    event,
  }));
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

    // Act: in waves of 10,000 rotations ending, all their appends at once (they coalesce per blob).
    const WAVE = 10_000;
    for (let first = 0; first < ROTATIONS; first += WAVE) {
      const appends: Promise<void>[] = [];
      for (let r = first; r < first + WAVE; r += 1) {
        const history = historyOf(r);
        for (const entry of history) expectedBytes += Buffer.byteLength(`${JSON.stringify(entry)}\n`);
        appends.push(ledger.appendAudit(history));
      }
      await Promise.all(appends);
    }

    // Assess: every byte is there, no blob near its block limit, and a history is whole in its blob.
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
    expect(mostBlocks).toBeLessThan(APPEND_BLOB_BLOCK_LIMIT / 10);
    const sample = historyOf(50_000);
    const text = (await container.getBlobClient(auditBlobName(new Date(sample.at(-1)!.at), sample[0]!.rotationId)).downloadToBuffer()).toString('utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    const start = lines.findIndex((l) => l.rotationId === sample[0]!.rotationId);
    expect(lines.slice(start, start + sample.length)).toEqual(sample);
  }, 900_000);
});
