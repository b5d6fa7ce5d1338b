import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLedgerError } from '../../../src/ledger/errors.js';
import { auditBlobName, createBlobLedger, type BlobLedger } from '../../../src/ledger/blob-ledger.js';
import type { AuditEntry } from '../../../src/rotation/ports.js';
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

/** Every audit line in the container, blob by blob in name order (minute, then shard), lines in append order. */
async function auditEntriesIn(container: ContainerClient): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const item of container.listBlobsFlat({ prefix: 'audit/' })) {
    for (const line of (await textOf(container, item.name)).split('\n')) if (line !== '') entries.push(JSON.parse(line) as AuditEntry);
  }
  return entries;
}

/** The ledger's requests to Azurite while `action` runs, as `METHOD <blob path> <status>`. */
async function requestsDuring(action: () => Promise<void>): Promise<string[]> {
  const port = new URL(azurite.blobEndpoint).port;
  const seen: string[] = [];
  const onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    if (!String(request.getHeader('host') ?? '').endsWith(`:${port}`)) return;
    seen.push(`${request.method} ${decodeURIComponent(request.path.split('?')[0]!.split('/').slice(3).join('/'))} ${response.statusCode ?? 0}`);
  };
  subscribe('http.client.response.finish', onResponse);
  try {
    await action();
  } finally {
    unsubscribe('http.client.response.finish', onResponse);
  }
  return seen;
}

describeLedgerConformance('the blob ledger on Azurite', async () => {
  const { ledger, container } = await freshLedger();
  return { ledger, auditEntries: () => auditEntriesIn(container) };
});

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

  it("appends a rotation's history as JSON lines to the blob of the minute it ended in, one of its shards", async () => {
    // Prepare
    const { ledger, container } = await freshLedger();
    const secret = { vaultUrl: FAKE_VAULT, name: 'audited' };
    const history: AuditEntry[] = [
      { at: '2025-06-01T12:05:00.000Z', rotationId: 'r1', secret, event: 'rotation.created' },
      { at: '2025-06-01T12:05:30.000Z', rotationId: 'r1', secret, event: 'step.begin.succeeded', detail: { attempt: 1 } },
      { at: '2025-06-01T12:06:10.000Z', rotationId: 'r1', secret, event: 'rotation.ended', detail: { status: 'Completed' } },
    ];

    // Act
    await ledger.appendAudit(history);

    // Assess
    const name = auditBlobName(new Date('2025-06-01T12:06:10.000Z'), 'r1');
    expect(name).toMatch(/^audit\/2025\/06\/01\/12\/06-\d\d\.jsonl$/);
    const lines = (await textOf(container, name)).trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
    expect(lines).toEqual(history);
    expect(await auditEntriesIn(container)).toEqual(history);
  });

  it('creates a new audit blob without a failed append first, and appends to a known one in one request', async () => {
    // Prepare
    const { ledger } = await freshLedger();
    const secret = { vaultUrl: FAKE_VAULT, name: 'counted' };
    const entry = (rotationId: string): AuditEntry => ({ at: '2025-06-01T13:00:00.000Z', rotationId, secret, event: 'rotation.ended' });

    // Act
    const first = await requestsDuring(() => ledger.appendAudit([entry('r1')]));
    const second = await requestsDuring(() => ledger.appendAudit([entry('r1')]));

    // Assess
    const blob = auditBlobName(new Date('2025-06-01T13:00:00.000Z'), 'r1');
    expect(first).toEqual([`PUT ${blob} 201`, `PUT ${blob} 201`]); // create, append
    expect(second).toEqual([`PUT ${blob} 201`]);
  });

  it('releases a lock it took in one request, and one re-taken since only after reading whose it is', async () => {
    // Prepare: two instances on one container.
    const { ledger: one, container } = await freshLedger();
    const two = createBlobLedger({ container });
    const secret = { vaultUrl: FAKE_VAULT, name: 'locked' };
    const lock = `locks/${new URL(FAKE_VAULT).host}/locked.json`;
    await one.acquireLock(secret, 'r1');

    // Act
    const own = await requestsDuring(() => one.releaseLock(secret, 'r1'));
    await one.acquireLock(secret, 'r2');
    await two.releaseLock(secret, 'r2'); // the other instance ends r2 ...
    await two.acquireLock(secret, 'r2'); // ... and r2 takes the lock again there (a new blob, a new ETag)
    const stale = await requestsDuring(() => one.releaseLock(secret, 'r2'));
    await two.acquireLock(secret, 'r3');
    await one.acquireLock(secret, 'r3');
    await two.releaseLock(secret, 'r3');
    await two.acquireLock(secret, 'r4');
    const notOurs = await requestsDuring(() => one.releaseLock(secret, 'r3'));

    // Assess
    expect(own).toEqual([`DELETE ${lock} 202`]);
    expect(stale).toEqual([`DELETE ${lock} 412`, `GET ${lock} 200`, `DELETE ${lock} 202`]);
    expect(notOurs).toEqual([`DELETE ${lock} 412`, `GET ${lock} 200`]);
    expect(await one.activeRotation(secret)).toBe('r4');
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
