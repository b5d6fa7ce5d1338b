import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerConflictError, isLedgerError } from '../../../src/ledger/errors.js';
import { auditBlobName, createBlobLedger, type BlobLedger } from '../../../src/ledger/blob-ledger.js';
import type { Rotation } from '../../../src/rotation/model.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';
import { createFakeWorld, FAKE_VAULT } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

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

function rotation(id: string, createdAt: string, name = 'db-password'): Rotation {
  return {
    id,
    secret: { vaultUrl: FAKE_VAULT, name },
    trigger: { kind: 'manual' },
    rotator: 'random',
    strategy: 'single',
    status: 'Running',
    step: 'begin',
    attempt: 1,
    dryRun: false,
    createdAt,
    updatedAt: createdAt,
    deadline: createdAt,
    versions: {},
    steps: [],
    undo: [],
  };
}

async function textOf(container: ContainerClient, name: string): Promise<string> {
  return (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
}

describe('blob ledger on Azurite', () => {
  it('creates, reads and updates a record under ETag conditions', async () => {
    // Prepare
    const { ledger } = await freshLedger();
    const created = await ledger.createRotation(rotation('r1', '2025-06-01T12:00:00.000Z'));

    // Act
    const read = await ledger.getRotation('r1');
    const updated = await ledger.updateRotation(read!, { ...read!.value, status: 'Completed' });
    const stale = await ledger.updateRotation(read!, { ...read!.value, status: 'Failed' }).catch((e: unknown) => e);

    // Assess
    expect(read?.value).toEqual(created.value);
    expect(read?.etag).toBe(created.etag);
    expect(updated.etag).not.toBe(read!.etag);
    expect(isLedgerConflictError(stale)).toBe(true);
    expect((await ledger.getRotation('r1'))?.value.status).toBe('Completed');
    expect(await ledger.getRotation('nope')).toBeUndefined();
  });

  it('refuses a second create of the same id', async () => {
    const { ledger } = await freshLedger();
    await ledger.createRotation(rotation('dup', '2025-06-01T12:00:00.000Z'));
    const error = await ledger.createRotation(rotation('dup', '2025-06-01T12:00:00.000Z')).catch((e: unknown) => e);
    expect(isLedgerConflictError(error)).toBe(true);
  });

  it('heals a missing index entry when a create finds the record already there', async () => {
    // Prepare: a crash between the record and its index entry
    const { ledger, container } = await freshLedger();
    const record = rotation('healed', '2025-06-01T12:00:00.000Z');
    const body = JSON.stringify(record);
    await container.getBlockBlobClient('rotations/healed.json').upload(body, Buffer.byteLength(body));

    // Act
    await ledger.createRotation(record).catch(() => undefined);

    // Assess
    const page = await ledger.listRotations(record.secret);
    expect(page.items.map((i) => i.id)).toEqual(['healed']);
  });

  it('gives the lock to exactly one of ten concurrent takers, re-entrantly', async () => {
    // Prepare
    const { ledger } = await freshLedger();
    const secret = { vaultUrl: FAKE_VAULT, name: 'contended' };

    // Act
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.acquireLock(secret, `r${i}`)));

    // Assess
    const winners = results.flatMap((r, i) => (r.acquired ? [`r${i}`] : []));
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(results.filter((r) => !r.acquired).every((r) => !r.acquired && r.heldBy === winner && r.since !== undefined)).toBe(true);
    expect((await ledger.acquireLock(secret, winner)).acquired).toBe(true);
    expect(await ledger.activeRotation(secret)).toBe(winner);
  });

  it('releases only for the holder', async () => {
    // Prepare
    const { ledger } = await freshLedger();
    const secret = { vaultUrl: FAKE_VAULT, name: 'released' };
    await ledger.acquireLock(secret, 'holder');

    // Act
    await ledger.releaseLock(secret, 'someone-else');
    const stillHeld = await ledger.activeRotation(secret);
    await ledger.releaseLock(secret, 'holder');
    await ledger.releaseLock(secret, 'holder');

    // Assess
    expect(stillHeld).toBe('holder');
    expect(await ledger.activeRotation(secret)).toBeUndefined();
    expect((await ledger.acquireLock(secret, 'next')).acquired).toBe(true);
  });

  it("lists a secret's rotations newest first, page by page", async () => {
    // Prepare
    const { ledger } = await freshLedger();
    for (const [id, at] of [['a', '2025-06-01T10:00:00.000Z'], ['c', '2025-06-03T10:00:00.000Z'], ['b', '2025-06-02T10:00:00.000Z']] as const) {
      await ledger.createRotation(rotation(id, at));
    }
    await ledger.createRotation(rotation('other', '2025-06-04T10:00:00.000Z', 'other-secret'));
    const secret = { vaultUrl: FAKE_VAULT, name: 'DB-Password' };

    // Act
    const first = await ledger.listRotations(secret, { limit: 2 });
    const second = await ledger.listRotations(secret, { limit: 2, continuationToken: first.continuationToken! });

    // Assess
    expect(first.items.map((i) => i.id)).toEqual(['c', 'b']);
    expect(second.items.map((i) => i.id)).toEqual(['a']);
    expect(second.continuationToken).toBeUndefined();
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
    const body = JSON.stringify({ ...rotation('bad', '2025-06-01T12:00:00.000Z'), status: 'Sleeping' });
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
