import { createServer, type Server, type Socket } from 'node:net';
import { HttpRequest, HttpResponse, type HttpResponseInit } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient, startKeyVaultEmulator, type KeyVaultEmulator } from '../../../emulators/keyvault/index.js';
import { handleGetRotation, handleListSecrets } from '../../../src/api/routes.js';
import { composeRotor, type Rotor } from '../../../src/app/compose.js';
import { loadSettings } from '../../../src/config/index.js';
import { keyVaultClientOptions } from '../../../src/keyvault/client-options.js';
import { isSecretStoreError } from '../../../src/keyvault/errors.js';
import { createKeyVaultSecretStore } from '../../../src/keyvault/secret-store.js';
import { isLedgerError } from '../../../src/ledger/errors.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';

/**
 * Storage and Key Vault that accept connections and never answer, behind the
 * real SDK clients as Rotor composes them: every call gives up (timeouts on
 * the clients) and an API request is answered 503 with Retry-After instead of
 * hanging. Each case is bounded only by the test timeout.
 */

const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let kv: KeyVaultEmulator;
let blackHole: Server;
const held: Socket[] = [];
let rotor: Rotor;

/** A TCP listener that takes every connection and never writes a byte. */
async function startBlackHole(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

beforeAll(async () => {
  kv = await startKeyVaultEmulator({ expiryCheckIntervalMs: 0 });
  const hole = await startBlackHole();
  blackHole = hole.server;
  const vaultUrl = new URL(kv.url).origin;
  rotor = composeRotor({
    settings: loadSettings({
      ServiceBusConnection: 'Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=unused;SharedAccessKey=unused;UseDevelopmentEmulator=true',
      LedgerStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${hole.port}/devstoreaccount1;`,
      ROTOR_ALLOWED_VAULTS: vaultUrl,
    }),
    secretClientFor: () => createEmulatorSecretClient(kv, { clientOptions: keyVaultClientOptions() }),
    notifier: { notify: () => Promise.resolve() },
    rotators: [createRandomRotator()],
  });
  kv.admin.faults.inject({ operation: 'any', effect: { kind: 'latency', ms: 60_000 } });
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  blackHole.close();
  await rotor.close();
  kv.admin.faults.clear();
  await kv.stop();
});

async function read(init: HttpResponseInit): Promise<{ status: number; type: string | null; retryAfter: string | null; body: { status?: number; type?: string } }> {
  const response = new HttpResponse(init);
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    retryAfter: response.headers.get('retry-after'),
    body: JSON.parse(await response.text()) as { status?: number; type?: string },
  };
}

const get = (path: string): HttpRequest => new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/${path}` });

describe.concurrent('an outage of storage and Key Vault', () => {
  it('answers GET /api/rotations/{id} 503 problem+json with Retry-After while the ledger does not answer', async () => {
    const res = await read(await handleGetRotation(new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/rotations/r-1', params: { id: 'r-1' } }), rotor.entry));

    expect(res).toMatchObject({ status: 503, type: 'application/problem+json', retryAfter: '5', body: { status: 503, type: 'urn:rotor:problem:service-unavailable' } });
  });

  it('answers GET /api/secrets 503 problem+json with Retry-After while Key Vault does not answer', async () => {
    const res = await read(await handleListSecrets(get('secrets'), rotor.entry));

    expect(res).toMatchObject({ status: 503, type: 'application/problem+json', retryAfter: '5', body: { status: 503 } });
  });

  it('fails a ledger call as Unavailable instead of waiting for ever (per-try timeout on the blob client)', async () => {
    const error = await rotor.ledger.getRotation('r-2').then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(isLedgerError(error) && error.code).toBe('Unavailable');
  });

  it('fails a Key Vault call as Unavailable instead of waiting for ever (timeout on every request)', async () => {
    const store = createKeyVaultSecretStore({ clientFor: () => createEmulatorSecretClient(kv, { clientOptions: keyVaultClientOptions() }), backoffMs: [] });

    const error = await store.getLatest({ vaultUrl: new URL(kv.url).origin, name: 'anything' }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(isSecretStoreError(error) && error.code).toBe('Unavailable');
  });
});
