import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleGetRotation, handleListSecretRotations, handleListSecrets, handleStartRotation } from '../../../src/api/routes.js';
import { createFakeWaysIn, secretInfo, TEST_VAULT } from '../../helpers/fakes/entry.js';

const BASE = 'http://localhost:7071/api';
const managed = { 'rotor-rotator': 'random', 'rotor-health': 'https://app.example/health?code=s3cr3t-probe-key' };

function setup(allowedVaults?: string[]) {
  return createFakeWaysIn({
    ...(allowedVaults === undefined ? {} : { allowedVaults }),
    secrets: [
      secretInfo('db-password', 'v1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' }),
      secretInfo('plain', 'v1', { tags: {} }),
      secretInfo('badly-tagged', 'v1', { tags: { 'rotor-rotator': 'random', 'rotor-validity': 'P1D' } }),
    ],
  });
}

function post(body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }): HttpRequest {
  return new HttpRequest({ method: 'POST', url: `${BASE}/rotations`, headers, ...(body === undefined ? {} : { body: { string: body } }) });
}

async function read(init: HttpResponseInit): Promise<{ status: number; type: string | null; location: string | null; body: any }> /* eslint-disable-line @typescript-eslint/no-explicit-any -- JSON bodies under test */ {
  const response = new HttpResponse(init);
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), location: response.headers.get('location'), body: text === '' ? undefined : JSON.parse(text) };
}

describe('POST /api/rotations', () => {
  it('answers 202 with the rotation id and a Location to poll', async () => {
    // Prepare
    const { services, ledger } = setup();

    // Act
    const res = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password', reason: 'leaked in a ticket' })), services));

    // Assess
    expect(res.status).toBe(202);
    expect(res.location).toBe(`${BASE}/rotations/${res.body.rotationId}`);
    expect(res.body).toMatchObject({ outcome: 'started', secret: { vaultUrl: TEST_VAULT, name: 'db-password' } });
    expect(ledger.rotations()).toEqual([
      expect.objectContaining({ id: res.body.rotationId, trigger: { kind: 'manual', reason: 'leaked in a ticket' }, status: 'Running', step: 'begin' }),
    ]);
  });

  it('answers a dry run with 200 and the report, starting nothing', async () => {
    const { services, ledger } = setup();

    const res = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password', dryRun: true })), services));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, report: { currentVersion: 'v1', wouldRotate: true } });
    expect(ledger.rotations().length).toBe(0);
  });

  it('answers 409 naming the active rotation', async () => {
    const { services } = setup();
    const first = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), services));

    const second = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), services));

    expect(second.status).toBe(409);
    expect(second.type).toBe('application/problem+json');
    expect(second.body).toMatchObject({ type: 'urn:rotor:problem:rotation-active', activeRotationId: first.body.rotationId, instance: '/api/rotations' });
  });

  it.each([
    ['a missing secret', { secret: 'nope' }, 404, 'secret-not-found', 'secret'],
    ['an unmanaged secret', { secret: 'plain' }, 422, 'not-managed', 'secret'],
    ['an invalid policy', { secret: 'badly-tagged' }, 422, 'invalid-policy', 'rotor-validity'],
    ['a vault not allowed', { secret: 'db-password', vault: 'https://evil.vault.azure.net' }, 422, 'vault-not-allowed', 'vault'],
    ['a vault that is not a URL', { secret: 'db-password', vault: 'kv-app' }, 400, 'invalid-request', 'vault'],
    ['no secret', {}, 400, 'invalid-request', 'secret'],
    ['a secret name Key Vault refuses', { secret: 'db_password!' }, 400, 'invalid-request', 'secret'],
    ['a secret that is a number', { secret: 42 }, 400, 'invalid-request', 'secret'],
    ['dryRun as a string', { secret: 'db-password', dryRun: 'yes' }, 400, 'invalid-request', 'dryRun'],
    ['a reason with control characters', { secret: 'db-password', reason: 'a\u0000b' }, 400, 'invalid-request', 'reason'],
    ['a reason too long', { secret: 'db-password', reason: 'x'.repeat(501) }, 400, 'invalid-request', 'reason'],
    ['an unknown field', { secret: 'db-password', dryrun: true }, 400, 'invalid-request', 'dryrun'],
  ])('answers %s with a problem naming the field', async (_case, body, status, type, field) => {
    const { services } = setup();

    const res = await read(await handleStartRotation(post(JSON.stringify(body)), services));

    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: `urn:rotor:problem:${type}`, status, title: expect.any(String) as unknown, detail: expect.any(String) as unknown });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it.each([
    ['no secret', {}, 'is required: the secret name'],
    ['a number', { secret: 42 }, 'must be a string: the secret name'],
    ['null', { secret: null }, 'must be a string: the secret name'],
  ])('says what is wrong with the secret field when it is %s', async (_case, body, detail) => {
    const { services } = setup();
    const res = await read(await handleStartRotation(post(JSON.stringify(body)), services));
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'secret', detail })]);
  });

  it.each([
    ['no body', undefined, { 'content-type': 'application/json' }, 400],
    ['invalid JSON', '{"secret":', { 'content-type': 'application/json' }, 400],
    ['a JSON array', '[]', { 'content-type': 'application/json' }, 400],
    ['a JSON null', 'null', { 'content-type': 'application/json' }, 400],
    ['text/plain', '{"secret":"db-password"}', { 'content-type': 'text/plain' }, 415],
    ['a 17 KiB body', JSON.stringify({ secret: 'db-password', reason: 'x'.repeat(17 * 1024) }), { 'content-type': 'application/json' }, 413],
  ])('answers %s with a problem', async (_case, body, headers, status) => {
    const { services } = setup();

    const res = await read(await handleStartRotation(post(body, headers), services));

    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.status).toBe(status);
  });

  it('requires the vault when several are configured', async () => {
    const { services } = setup([TEST_VAULT, 'https://kv-two.vault.azure.net']);

    const res = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), services));

    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ field: 'vault', in: 'body', pointer: '#/vault' });
  });

  it('answers 500 with a problem and logs when the engine fails', async () => {
    const { services, logs } = setup();
    const failing = { ...services, startRotation: () => Promise.reject(new Error('blob service down')) };

    const res = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), failing));

    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('blob service down');
    expect(logs.at(-1)).toMatchObject({ level: 'error', message: 'request failed' });
  });
});

describe('GET /api/rotations/{id}', () => {
  it('returns the record with links', async () => {
    const { services } = setup();
    const started = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), services));

    const res = await read(await handleGetRotation(new HttpRequest({ method: 'GET', url: started.location!, params: { id: started.body.rotationId } }), services));

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: started.body.rotationId, status: 'Running', links: { self: started.location } });
  });

  it('presents the policy snapshot without raw tags or probe URL query strings, which may carry keys', async () => {
    // Prepare: a rotation past begin carries the policy it read.
    const { services, ledger } = setup();
    const started = await read(await handleStartRotation(post(JSON.stringify({ secret: 'db-password' })), services));
    const current = (await ledger.getRotation(started.body.rotationId))!;
    await ledger.updateRotation(current, {
      ...current.value,
      policy: {
        rotator: 'random',
        strategy: 'single',
        validityMs: 90 * 86_400_000,
        graceMs: 0,
        health: [{ url: 'https://app.example/health?code=s3cr3t-probe-key', expectStatus: 200 }],
        tags: managed,
      },
    });

    // Act
    const res = await read(await handleGetRotation(new HttpRequest({ method: 'GET', url: started.location!, params: { id: started.body.rotationId } }), services));

    // Assess
    expect(res.status).toBe(200);
    expect(res.body.policy).toMatchObject({ rotator: 'random', health: [{ url: 'https://app.example/health' }] });
    expect(res.body.policy.tags).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('s3cr3t-probe-key');
  });

  it.each([
    ['unknown', 'does-not-exist', 404],
    ['malformed', '../../etc/passwd', 400],
  ])('answers an %s id with a problem', async (_case, id, status) => {
    const { services } = setup();

    const res = await read(await handleGetRotation(new HttpRequest({ method: 'GET', url: `${BASE}/rotations/x`, params: { id } }), services));

    expect(res.status).toBe(status);
    expect(res.body.errors[0]).toMatchObject({ field: 'id', in: 'path' });
  });
});

describe('GET /api/secrets/{name}/rotations', () => {
  async function withHistory(count: number) {
    const fake = setup();
    for (let i = 0; i < count; i += 1) {
      fake.clock.set(Date.parse(`2026-11-22T10:0${i}:00Z`));
      const started = await fake.services.startRotation({ vaultUrl: TEST_VAULT, name: 'db-password' }, { kind: 'manual' });
      if (started.outcome === 'started') await fake.ledger.releaseLock({ vaultUrl: TEST_VAULT, name: 'db-password' }, started.rotationId);
    }
    return fake;
  }

  const list = (query: string) =>
    new HttpRequest({ method: 'GET', url: `${BASE}/secrets/db-password/rotations${query}`, params: { name: 'db-password' } });

  it('pages newest first and links the next page', async () => {
    const { services } = await withHistory(3);

    const first = await read(await handleListSecretRotations(list('?limit=2'), services));
    const next = new URL(first.body.nextLink as string);
    const second = await read(await handleListSecretRotations(list(next.search), services));

    expect(first.body.items.map((i: { createdAt: string }) => i.createdAt)).toEqual(['2026-11-22T10:02:00.000Z', '2026-11-22T10:01:00.000Z']);
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextLink).toBeUndefined();
  });

  it('answers 404 for a secret that does not exist and was never rotated', async () => {
    const { services } = setup();
    const request = new HttpRequest({ method: 'GET', url: `${BASE}/secrets/nope/rotations`, params: { name: 'nope' } });

    const res = await read(await handleListSecretRotations(request, services));

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'urn:rotor:problem:secret-not-found', errors: [{ field: 'name', in: 'path' }] });
  });

  it('answers 200 with no items for an existing secret never rotated', async () => {
    const { services } = setup();
    const res = await read(await handleListSecretRotations(list(''), services));
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=abc', 'limit'],
    ['?limit=101', 'limit'],
    ['?continuationToken=%20%0A', 'continuationToken'],
    ['?vault=nope', 'vault'],
  ])('answers %s with a problem naming the parameter', async (query, field) => {
    const { services } = setup();

    const res = await read(await handleListSecretRotations(list(query), services));

    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ field, in: 'query' });
  });
});

describe('GET /api/secrets', () => {
  it('lists managed secrets with policy, expiry, last rotation and next due, and no probe keys', async () => {
    const { services } = setup();
    await services.startRotation({ vaultUrl: TEST_VAULT, name: 'db-password' }, { kind: 'manual' });

    const res = await read(await handleListSecrets(new HttpRequest({ method: 'GET', url: `${BASE}/secrets` }), services));

    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { name: string }) => i.name)).toEqual(['db-password', 'badly-tagged']);
    expect(res.body.items[0]).toMatchObject({
      currentVersion: 'v1',
      expiresOn: '2026-12-01T00:00:00.000Z',
      nextDue: '2026-11-01T00:00:00.000Z',
      policy: { valid: true, rotator: 'random', health: [{ url: 'https://app.example/health' }] },
      lastRotation: { status: 'Running' },
    });
    expect(res.body.items[1].policy).toMatchObject({ valid: false, problems: [{ tag: 'rotor-validity' }] });
    expect(JSON.stringify(res.body)).not.toContain('s3cr3t-probe-key');
  });
});

describe('GET /api/secrets, page by page', () => {
  it('answers a page at a time and follows its nextLink to the end, each secret once', async () => {
    // Prepare
    const { services } = createFakeWaysIn({
      secrets: Array.from({ length: 23 }, (_, i) => secretInfo(`s-${String(i).padStart(2, '0')}`, 'v1', { tags: managed, expiresOn: '2027-06-01T00:00:00Z' })),
    });
    const names: string[] = [];
    let url: string | undefined = `${BASE}/secrets?limit=10`;
    let pages = 0;

    // Act
    while (url !== undefined) {
      const res = await read(await handleListSecrets(new HttpRequest({ method: 'GET', url }), services));
      expect(res.status).toBe(200);
      pages += 1;
      names.push(...res.body.items.map((i: { name: string }) => i.name));
      url = res.body.nextLink;
    }

    // Assess
    expect(pages).toBe(3);
    expect(names).toHaveLength(23);
    expect(new Set(names).size).toBe(23);
  });

  it.each([
    ['not base64 JSON', '%%%'],
    ['a vault Rotor does not manage', Buffer.from(JSON.stringify({ vault: 'https://other.vault.azure.net' })).toString('base64url')],
  ])('answers 400 naming continuationToken for a token that is %s', async (_, token) => {
    const { services } = setup();

    const res = await read(await handleListSecrets(new HttpRequest({ method: 'GET', url: `${BASE}/secrets?continuationToken=${encodeURIComponent(token)}` }), services));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'continuationToken', in: 'query' })]);
  });

  it('refuses a page size over 25, naming limit', async () => {
    const { services } = setup();

    const res = await read(await handleListSecrets(new HttpRequest({ method: 'GET', url: `${BASE}/secrets?limit=26` }), services));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'limit' })]);
  });
});
