import { randomBytes } from 'node:crypto';
import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleDeleteConsumers, handleGetConsumers, handlePutConsumers, type ConsumerApiServices } from '../../../src/api/consumers.js';
import { createBlobConsumerRegistry } from '../../../src/consumers/registry.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import type { StoredSecret } from '../../../src/rotation/ports.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';

const VAULT = 'https://kv-orders.vault.azure.net';
const BASE = 'http://localhost:7071/api';
const site = '/subscriptions/00000000-0000-0000-0000-00000000a2e0/resourceGroups/rg-app/providers/Microsoft.Web/sites/app-orders';

let azurite: AzuriteBlob;
beforeAll(async () => {
  azurite = await startAzuriteBlob();
});
afterAll(async () => {
  await azurite.stop();
});

async function services(tags: Record<string, string> = {}): Promise<ConsumerApiServices> {
  const container = azurite.client().getContainerClient(`ledger-${randomBytes(6).toString('hex')}`);
  await container.createIfNotExists();
  const latest: StoredSecret = { secret: { vaultUrl: VAULT, name: 'orders-db' }, version: 'a'.repeat(32), enabled: true, tags, value: SecretValue.from('never-shown') };
  return {
    allowedVaults: [VAULT],
    registry: createBlobConsumerRegistry({ container }),
    secrets: { getLatest: (ref) => Promise.resolve(ref.name === 'orders-db' ? { kind: 'found', secret: latest } : { kind: 'missing' }) },
    log: createLogger(createMemorySink(), { level: 'debug' }),
  };
}

function request(method: string, name: string, options: { body?: unknown; headers?: Record<string, string>; query?: string } = {}): HttpRequest {
  return new HttpRequest({
    method,
    url: `${BASE}/secrets/${name}/consumers${options.query ?? ''}`,
    params: { name },
    headers: { 'content-type': 'application/json', ...options.headers },
    ...(options.body === undefined ? {} : { body: { string: JSON.stringify(options.body) } }),
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies under test
async function read(init: HttpResponseInit): Promise<{ status: number; etag: string | null; body: any }> {
  const response = new HttpResponse(init);
  const text = await response.text();
  return { status: response.status, etag: response.headers.get('etag'), body: text === '' ? undefined : JSON.parse(text) };
}

describe('consumer registry API on Azurite', () => {
  it('registers consumers, shows them beside the tag, and forgets them', async () => {
    // Prepare
    const s = await services({ 'rotor-consumers': 'https://orders.example.com/rotor' });

    // Act
    const put = await read(await handlePutConsumers(request('PUT', 'orders-db', { body: { consumers: [`appservice:${site}`, 'https://orders.example.com/rotor'] } }), s));
    const get = await read(await handleGetConsumers(request('GET', 'orders-db'), s));
    const deleted = await read(await handleDeleteConsumers(request('DELETE', 'orders-db'), s));
    const again = await read(await handleDeleteConsumers(request('DELETE', 'orders-db'), s));

    // Assess
    expect(put.status).toBe(200);
    expect(put.etag).not.toBeNull();
    expect(get.body).toMatchObject({
      secret: { vaultUrl: VAULT, name: 'orders-db' },
      tag: { name: 'rotor-consumers', entries: ['https://orders.example.com/rotor'] },
      registered: { entries: [`appservice:${site}`, 'https://orders.example.com/rotor'] },
      consumers: [
        { entry: 'https://orders.example.com/rotor', kind: 'https', sources: ['tag', 'registry'] },
        { entry: `appservice:${site}`, kind: 'appservice', sources: ['registry'] },
      ],
    });
    expect(get.etag).toBe(put.etag);
    expect(deleted.status).toBe(204);
    expect(again.status).toBe(404);
    expect(again.body.type).toBe('urn:rotor:problem:consumers-not-found');
    expect(JSON.stringify(get.body)).not.toContain('never-shown');
  });

  it('names every bad entry in a 400 problem, by index', async () => {
    const s = await services();

    const res = await read(await handlePutConsumers(request('PUT', 'orders-db', { body: { consumers: ['https://ok.example.com/c', 'ftp://x', 'http://far.example.com/c'] } }), s));

    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string; pointer: string }) => [e.field, e.pointer])).toEqual([
      ['consumers.1', '#/consumers/1'],
      ['consumers.2', '#/consumers/2'],
    ]);
  });

  it.each([
    [{}, 'consumers'],
    [{ consumers: 'https://a.example.com/c' }, 'consumers'],
    [{ consumers: [], extra: true }, 'extra'],
  ])('refuses the body %j naming %s', async (body, field) => {
    const res = await read(await handlePutConsumers(request('PUT', 'orders-db', { body }), await services()));

    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe(field);
  });

  it('answers 412 to a PUT whose If-Match is stale, keeping the newer list', async () => {
    const s = await services();
    const first = await read(await handlePutConsumers(request('PUT', 'orders-db', { body: { consumers: ['https://a.example.com/c'] } }), s));
    await read(await handlePutConsumers(request('PUT', 'orders-db', { body: { consumers: ['https://b.example.com/c'] }, headers: { 'if-match': first.etag ?? '' } }), s));

    const stale = await read(await handlePutConsumers(request('PUT', 'orders-db', { body: { consumers: ['https://c.example.com/c'] }, headers: { 'if-match': first.etag ?? '' } }), s));
    const get = await read(await handleGetConsumers(request('GET', 'orders-db'), s));

    expect(stale.status).toBe(412);
    expect(get.body.registered.entries).toEqual(['https://b.example.com/c']);
  });

  it('refuses a vault Rotor may not rotate in', async () => {
    const res = await read(await handleGetConsumers(request('GET', 'orders-db', { query: '?vault=https://kv-other.vault.azure.net' }), await services()));

    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ field: 'vault', in: 'query' });
  });

  it('shows the tag problems and no registry for a secret with a bad tag', async () => {
    const res = await read(await handleGetConsumers(request('GET', 'orders-db'), await services({ 'rotor-consumers': 'nonsense' })));

    expect(res.status).toBe(200);
    expect(res.body.registered).toBeNull();
    expect(res.body.tag.problems[0]).toMatch(/"nonsense" is not a consumer/);
  });
});
