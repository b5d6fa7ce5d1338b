import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleGetBatch, handleStartBatch } from '../../../src/api/batch-routes.js';
import { RotationStatus } from '../../../src/rotation/model.js';
import { createFakeWaysIn, secretInfo, TEST_VAULT } from '../../helpers/fakes/entry.js';
import { createMemoryBatchStore } from '../../helpers/memory-batch-store.js';

const BASE = 'http://localhost:7071/api';
const managed = { 'rotor-rotator': 'random' };

function setup() {
  const fake = createFakeWaysIn({
    secrets: [
      secretInfo('orders-db', 'v1', { tags: { ...managed, team: 'orders' } }),
      secretInfo('orders-api', 'v1', { tags: { ...managed, team: 'orders' } }),
      secretInfo('orders-paused', 'v1', { tags: { ...managed, team: 'orders', 'rotor-paused': 'true' } }),
      secretInfo('legacy', 'v1', { tags: { team: 'orders' } }),
    ],
  });
  const batches = createMemoryBatchStore();
  return { ...fake, services: { ...fake.services, batches }, batches };
}

function post(body: unknown): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: `${BASE}/rotations:batch`,
    headers: { 'content-type': 'application/json' },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
}

function get(id: string): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `${BASE}/batches/${id}`, params: { id } });
}

async function read(init: HttpResponseInit): Promise<{ status: number; type: string | null; body: any }> /* eslint-disable-line @typescript-eslint/no-explicit-any -- JSON bodies under test */ {
  const response = new HttpResponse(init);
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), body: text === '' ? undefined : JSON.parse(text) };
}

describe('POST /api/rotations:batch', () => {
  it('starts every selected managed secret, lists the rest as skipped with the reason, and records the batch', async () => {
    // Prepare
    const { services, calls, batches } = setup();

    // Act
    const res = await read(await handleStartBatch(post({ selector: { tags: { team: 'orders' } }, reason: 'INC-4711 leaked connection strings' }), services));

    // Assess
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ started: 2, active: 0, skipped: 2, vault: TEST_VAULT, dryRun: false });
    expect(res.body.location).toBe(`${BASE}/batches/${res.body.batchId}`);
    expect(calls.map((c) => [c.secret.name, c.trigger.kind, c.trigger.reason])).toEqual([
      ['orders-db', 'manual', `batch ${res.body.batchId}: INC-4711 leaked connection strings`],
      ['orders-api', 'manual', `batch ${res.body.batchId}: INC-4711 leaked connection strings`],
    ]);
    expect(res.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ secret: 'orders-paused', outcome: 'skipped', reason: expect.stringMatching(/paused/) }),
        expect.objectContaining({ secret: 'legacy', outcome: 'skipped', reason: expect.stringMatching(/unmanaged/) }),
      ]),
    );
    expect(batches.batches.get(res.body.batchId)?.items).toHaveLength(4);
  });

  it('follows a rotation already active instead of starting a second, and force includes paused secrets', async () => {
    const { services, calls } = setup();
    const first = await services.startRotation({ vaultUrl: TEST_VAULT, name: 'orders-db' }, { kind: 'manual' });

    const res = await read(await handleStartBatch(post({ selector: 'all', reason: 'incident', force: true }), services));

    expect(res.body).toMatchObject({ started: 2, active: 1, skipped: 1 });
    expect(res.body.items).toContainEqual(expect.objectContaining({ secret: 'orders-db', outcome: 'active', rotationId: first.outcome === 'started' ? first.rotationId : '' }));
    expect(calls.map((c) => c.secret.name)).toContain('orders-paused');
  });

  it('a dry run starts nothing and answers 200 with what would rotate', async () => {
    const { services, calls } = setup();

    const res = await read(await handleStartBatch(post({ selector: { names: ['orders-db', 'legacy', 'gone'] }, reason: 'rehearsal', dryRun: true }), services));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, wouldRotate: 1, skipped: 2, started: 0 });
    expect(calls).toEqual([]);
  });

  it.each([
    [{ selector: 'all' }, 'reason', /is required/],
    [{ selector: 'all', reason: '   ' }, 'reason', /must not be empty/],
    [{ selector: 'some', reason: 'x' }, 'selector', /must be "all"/],
    [{ selector: { names: [] }, reason: 'x' }, 'selector.names', /at least one/],
    [{ selector: { names: ['a', 'A'] }, reason: 'x' }, 'selector.names', /twice/],
    [{ selector: { names: ['not a name!'] }, reason: 'x' }, 'selector.names.0', /Key Vault secret name/],
    [{ selector: { tags: {} }, reason: 'x' }, 'selector.tags', /at least one tag/],
    [{ selector: 'all', reason: 'x', dryRun: 'yes' }, 'dryRun', /true or false/],
    [{ selector: 'all', reason: 'x', extra: 1 }, 'extra', /not a known field/],
  ])('answers %j with 400 naming %s', async (body, field, detail) => {
    const { services, calls } = setup();

    const res = await read(await handleStartBatch(post(body), services));

    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.errors).toContainEqual(expect.objectContaining({ field, in: 'body', detail: expect.stringMatching(detail) }));
    expect(calls).toEqual([]);
  });

  it('answers a vault Rotor may not rotate in with 422', async () => {
    const { services } = setup();

    const res = await read(await handleStartBatch(post({ vault: 'https://other.vault.azure.net', selector: 'all', reason: 'x' }), services));

    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ field: 'vault' });
  });
});

describe('GET /api/batches/{id}', () => {
  it('counts the rotations by status and says when all have ended', async () => {
    // Prepare
    const { services, ledger } = setup();
    const started = await read(await handleStartBatch(post({ selector: 'all', reason: 'incident' }), services));
    const ids: string[] = started.body.items.flatMap((i: { rotationId?: string }) => (i.rotationId === undefined ? [] : [i.rotationId]));

    // Act
    const running = await read(await handleGetBatch(get(started.body.batchId), services));
    for (const id of ids) {
      const stored = await ledger.getRotation(id);
      if (stored !== undefined) await ledger.updateRotation(stored, { ...stored.value, status: RotationStatus.Completed });
    }
    const ended = await read(await handleGetBatch(get(started.body.batchId), services));

    // Assess
    expect(running.body).toMatchObject({ total: 4, skipped: 2, done: false, counts: { Running: 2, Completed: 0 } });
    expect(ended.body).toMatchObject({ done: true, counts: { Running: 0, Completed: 2 } });
    expect(ended.body.items.find((i: { secret: string }) => i.secret === 'legacy')).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/unmanaged/) });
  });

  it.each([
    ['b-000000000000000000000000', 404, 'batch-not-found'],
    ['nope', 400, 'invalid-request'],
  ])('answers %s with %i', async (id, status, type) => {
    const { services } = setup();

    const res = await read(await handleGetBatch(get(id), services));

    expect(res.status).toBe(status);
    expect(res.body.type).toBe(`urn:rotor:problem:${type}`);
  });
});
