import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  EmulatorCredential,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import { bearer, rawRequest, rejectionOf } from './raw.js';

describe('Key Vault emulator: challenge authentication and roles', () => {
  let kv: KeyVaultEmulator;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
  });

  it('answers a request without a token with 401 and the Bearer challenge, and stores nothing', async () => {
    // Act
    const response = await rawRequest(kv, {
      method: 'PUT',
      path: '/secrets/unauthenticated?api-version=2025-07-01',
      body: JSON.stringify({ value: 'should-not-be-stored' }),
    });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"',
    );
    expect(response.json).toEqual({
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
    const listed = await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=2025-07-01', headers: bearer() });
    expect(listed.json.value).toEqual([]);
  });

  it('keeps the body of a fresh client’s first write, which the SDK first sends without body to get the challenge', async () => {
    // Prepare: a new client has not seen the challenge yet
    const credential = new EmulatorCredential();
    const client = createEmulatorSecretClient(kv, { credential });

    // Act
    const created = await client.setSecret('first-write', 'first-write-value', { contentType: 'text/plain' });
    const read = await client.getSecret('first-write');

    // Assess
    expect(read.value).toBe('first-write-value');
    expect(read.properties.contentType).toBe('text/plain');
    expect(read.properties.version).toBe(created.properties.version);
    expect(kv.admin.counters().challenges).toBe(1);
    expect(kv.admin.counters().operations.set.calls).toBe(1);
    expect(credential.requests[0]).toEqual({
      scopes: ['https://vault.azure.net/.default'],
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    });
  });

  it('accepts any bearer token once challenged', async () => {
    // Act
    const response = await rawRequest(kv, {
      method: 'PUT',
      path: '/secrets/any-token?api-version=7.5',
      headers: { authorization: 'Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.any.thing' },
      body: JSON.stringify({ value: 'v' }),
    });

    // Assess
    expect(response.status).toBe(200);
  });

  it('refuses an unknown emulator role with 401', async () => {
    // Act
    const response = await rawRequest(kv, {
      method: 'GET',
      path: '/secrets?api-version=7.5',
      headers: bearer('administrator'),
    });

    // Assess
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('Unauthorized');
  });

  it.each([
    { role: 'user' as const, action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action' },
    { role: 'reader' as const, action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action' },
  ])('gives a $role identity 403 ForbiddenByRbac on a write', async ({ role, action }) => {
    // Prepare
    const client = createEmulatorSecretClient(kv, { role });

    // Act
    const error = await rejectionOf(client.setSecret('read-only', 'nope'));

    // Assess
    expect(error.statusCode).toBe(403);
    expect(error.code).toBe('Forbidden');
    expect(error.details?.error.innerError?.code).toBe('ForbiddenByRbac');
    expect(error.details?.error.message).toContain(action);
  });

  it('lets a Secrets User read values and a Reader only metadata', async () => {
    // Prepare
    await createEmulatorSecretClient(kv).setSecret('shared', 'shared-value');
    const user = createEmulatorSecretClient(kv, { role: 'user' });
    const reader = createEmulatorSecretClient(kv, { role: 'reader' });

    // Act
    const userRead = await user.getSecret('shared');
    const readerError = await rejectionOf(reader.getSecret('shared'));
    const readerList: string[] = [];
    for await (const properties of reader.listPropertiesOfSecrets()) readerList.push(properties.name);

    // Assess
    expect(userRead.value).toBe('shared-value');
    expect(readerError.statusCode).toBe(403);
    expect(readerList).toEqual(['shared']);
  });

  it('serves HTTPS with a certificate only its own CA vouches for', async () => {
    // Prepare: a client that trusts only the public CAs
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const untrusting = new SecretClient(kv.url, new EmulatorCredential(), {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });

    // Act
    const error = await rejectionOf(untrusting.getSecret('anything'));

    // Assess
    expect(kv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(`${error.code ?? ''} ${String((error as { message?: string }).message)}`).toMatch(/SELF_SIGNED|self[- ]signed|UNABLE_TO_VERIFY|unable to verify/i);
  });

  it('accepts the api-version parameter as the SDK encodes it (api%2Dversion) and refuses a call without one', async () => {
    // Act
    const encoded = await rawRequest(kv, { method: 'GET', path: '/secrets?api%2Dversion=2025-07-01', headers: bearer() });
    const missing = await rawRequest(kv, { method: 'GET', path: '/secrets', headers: bearer() });

    // Assess
    expect(encoded.status).toBe(200);
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe('BadParameter');
  });
});
