import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import { startAzuriteBlob, type LocalAzurite } from '../../../src/local/azurite.js';

/**
 * Azurite on disk for the persistent local stack. A crash is simulated by
 * copying the data directory the moment a write has been answered (what
 * `kill -9` would leave) and starting a second Azurite on the copy.
 */

const dirs: string[] = [];
const servers: LocalAzurite[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'azurite-persist-'));
  dirs.push(dir);
  return dir;
}

describe('Azurite with a data directory', () => {
  it('has every answered write on disk at once, not at its next 5-second autosave', async () => {
    // Prepare
    const dir = tempDir();
    const first = await startAzuriteBlob({ dataDir: dir });
    servers.push(first);
    const container = BlobServiceClient.fromConnectionString(first.connectionString).getContainerClient('ledger');
    await container.create();
    await container.getBlockBlobClient('rotations/r-1.json').upload('{"status":"Running"}', 20);
    await container.getBlockBlobClient('rotations/r-1.json').upload('{"status":"Completed"}', 22);

    // Act: crash now, start again on what is on disk.
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const second = await startAzuriteBlob({ dataDir: copy });
    servers.push(second);
    const reread = await BlobServiceClient.fromConnectionString(second.connectionString).getContainerClient('ledger').getBlobClient('rotations/r-1.json').downloadToBuffer();

    // Assess
    expect(reread.toString('utf8')).toBe('{"status":"Completed"}');
  });
});
