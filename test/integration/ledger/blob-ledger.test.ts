import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerError } from '../../../src/ledger/errors.js';
import { auditBlobName, createBlobLedger, type BlobLedger } from '../../../src/ledger/blob-ledger.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';
import { createFakeWorld, FAKE_VAULT } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { describeLedgerConformance, testRotation } from '../../helpers/ledger-conformance.js';

let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
});

afterAll(async () => {
  await azurite.stop();
});

async function freshLedger(): Promise<{ ledger: BlobLedger; container: ContainerClient }> {
  const container = azurite.client().getContainerClient(`ledger-${randomBytes(6).toString('hex')}`);
  const ledger = createBlobLedger({ container });
  await ledger.ensureContainer();
  return { ledger, container };
}

async function textOf(container: ContainerClient, name: string): Promise<string> {
  return (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
}

describeLedgerConformance('the blob ledger on Azurite', async () => (await freshLedger()).ledger);

describe('blob ledger on Azurite', () => {
  it('heals a missing index entry when a create finds the record already there', async () => {
    // Prepare: a crash between the record and its index entry
    const { ledger, container } = await freshLedger();
    const record = testRotation('healed', '2025-06-01T12:00:00.000Z');
    const body = JSON.stringify(record);
    await container.getBlockBlobClient('rotations/healed.json').upload(body, Buffer.byteLength(body));

    // Act
    await ledger.createRotation(record).catch(() => undefined);

    // Assess
    const page = await ledger.listRotations(record.secret);
    expect(page.items.map((i) => i.id)).toEqual(['healed']);
  });

  it('appends audit entries as JSON lines, one blob per minute and rotation shard', async () => {
    // Prepare
    const { ledger, container } = await freshLedger();
    const secret = { vaultUrl: FAKE_VAULT, name: 'audited' };

    // Act
    await ledger.appendAudit({ at: '2025-06-01T12:05:00.000Z', rotationId: 'r1', secret, event: 'rotation.created' });
    await ledger.appendAudit({ at: '2025-06-01T12:05:30.000Z', rotationId: 'r1', secret, event: 'step.begin.succeeded', detail: { attempt: 1 } });
    await ledger.appendAudit({ at: '2025-06-01T12:06:00.000Z', rotationId: 'r1', secret, event: 'step.prepare.succeeded' });

    // Assess
    const first = auditBlobName(new Date('2025-06-01T12:05:00.000Z'), 'r1');
    expect(first).toMatch(/^audit\/2025\/06\/01\/12\/05-\d\d\.jsonl$/);
    const lines = (await textOf(container, first)).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['rotation.created', 'step.begin.succeeded']);
    const next = (await textOf(container, auditBlobName(new Date('2025-06-01T12:06:00.000Z'), 'r1'))).trim().split('\n');
    expect(next.map((l) => JSON.parse(l).event)).toEqual(['step.prepare.succeeded']);
  });

  it('refuses a record that does not parse, naming the field', async () => {
    const { ledger, container } = await freshLedger();
    const body = JSON.stringify({ ...testRotation('bad', '2025-06-01T12:00:00.000Z'), status: 'Sleeping' });
    await container.getBlockBlobClient('rotations/bad.json').upload(body, Buffer.byteLength(body));
    const error = await ledger.getRotation('bad').catch((e: unknown) => e);
    expect(isLedgerError(error) && error.code).toBe('Corrupt');
    expect((error as Error).message).toContain('status');
  });

  it('carries a whole rotation run by the engine, with no secret value in any blob', async () => {
    // Prepare
    const { ledger, container } = await freshLedger();
    const world = createFakeWorld({ wrapPorts: (ports) => ({ ...ports, ledger }) });
    const secret = { vaultUrl: FAKE_VAULT, name: 'engine-on-blobs' };
    world.store.seed(secret, { value: 'initial-blob-value-1', tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1M' } });

    // Act
    const start = await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    const id = (start as { rotationId: string }).rotationId;
    const record = await ledger.getRotation(id);
    expect(record?.value.status).toBe('Completed');
    expect(record?.value.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire']);
    expect(await ledger.activeRotation(secret)).toBeUndefined();
    const blobs: string[] = [];
    for await (const item of container.listBlobsFlat()) blobs.push(`${item.name}\n${await textOf(container, item.name)}`);
    expect(blobs.some((b) => b.startsWith('audit/'))).toBe(true);
    expectNoSecretIn(blobs, world.store.allValues());
  });
});
