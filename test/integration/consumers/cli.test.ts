import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, HttpResponse } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleDeleteConsumers, handleGetConsumers, handlePutConsumers, type ConsumerApiServices } from '../../../src/api/consumers.js';
import { createBlobConsumerRegistry } from '../../../src/consumers/registry.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';
import { cli } from '../../unit/cli/fake-api.js';

const VAULT = 'https://kv-orders.vault.azure.net';
const site = '/subscriptions/00000000-0000-0000-0000-00000000a2e0/resourceGroups/rg-app/providers/Microsoft.Web/sites/app-orders';

/** The real consumer handlers behind a plain HTTP server, as the Functions host routes them. */
async function startConsumerApi(services: ConsumerApiServices): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      const name = /^\/api\/secrets\/([^/]+)\/consumers$/.exec(url.pathname)?.[1] ?? '';
      const body = Buffer.concat(chunks).toString('utf8');
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: url.href,
        params: { name: decodeURIComponent(name) },
        headers: Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
        ...(body === '' ? {} : { body: { string: body } }),
      });
      const handler = req.method === 'PUT' ? handlePutConsumers : req.method === 'DELETE' ? handleDeleteConsumers : handleGetConsumers;
      void handler(request, services).then(async (init) => {
        const response = new HttpResponse(init);
        res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
        res.end(await response.text());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, server };
}

let azurite: AzuriteBlob;
let api: { url: string; server: Server };

beforeAll(async () => {
  azurite = await startAzuriteBlob();
  const container = azurite.client().getContainerClient('rotor-ledger');
  await container.createIfNotExists();
  api = await startConsumerApi({
    allowedVaults: [VAULT],
    registry: createBlobConsumerRegistry({ container }),
    secrets: { getLatest: () => Promise.resolve({ kind: 'missing' }) },
    log: createLogger(createMemorySink(), { level: 'debug' }),
  });
});
afterAll(async () => {
  api.server.closeAllConnections();
  await new Promise<void>((resolve) => api.server.close(() => resolve()));
  await azurite.stop();
});

describe('rotor consumers, against the real handlers and registry', () => {
  it('adds, lists, removes and clears registered consumers', async () => {
    // Prepare
    const env = { ROTOR_API_URL: api.url };

    // Act
    const added = await cli(['consumers', 'add', 'orders-db', `appservice:${site}`, 'https://orders.example.com/rotor'], env);
    const addedAgain = await cli(['consumers', 'add', 'orders-db', 'https://orders.example.com/rotor'], env);
    const removed = await cli(['consumers', 'remove', 'orders-db', 'https://orders.example.com/rotor'], env);
    const listed = await cli(['consumers', 'list', 'orders-db', '--json'], env);
    const cleared = await cli(['consumers', 'clear', 'orders-db'], env);
    const empty = await cli(['consumers', 'list', 'orders-db'], env);

    // Assess
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('Consumers of orders-db in https://kv-orders.vault.azure.net (2):');
    expect(addedAgain.stdout).toContain('(2):');
    expect(removed.code).toBe(0);
    expect(JSON.parse(listed.stdout).registered.entries).toEqual([`appservice:${site}`]);
    expect(cleared.stdout).toContain('Registry of orders-db cleared');
    expect(empty.stdout).toContain('No consumers declared for orders-db');
  });

  it('shows the API problem naming a bad entry, and exits 1', async () => {
    const run = await cli(['consumers', 'set', 'orders-db', 'https://ok.example.com/c', 'ftp://nope'], { ROTOR_API_URL: api.url });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/consumers\.1.*"ftp:\/\/nope" is not a consumer/s);
  });

  it.each([
    [['consumers'], /consumers needs an action/],
    [['consumers', 'list'], /consumers list needs a secret name/],
    [['consumers', 'add', 'orders-db'], /consumers add needs at least one entry/],
    [['consumers', 'frobnicate', 'orders-db'], /got 'frobnicate'/],
  ])('refuses %j as a usage error', async (argv, message) => {
    const run = await cli(argv, { ROTOR_API_URL: api.url });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
