import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import { rawRequest } from './raw.js';

const DAY = 24 * 60 * 60 * 1000;

describe('Key Vault emulator: persistence and restart', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-emulator-state-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps secrets, versions and soft-deleted names in dataDir across a restart, and reuses its certificate', async () => {
    // Prepare
    const options = { dataDir: join(dir, 'state'), certDir: join(dir, 'tls') };
    const first = await startKeyVaultEmulator(options);
    const before = createEmulatorSecretClient(first);
    const v1 = await before.setSecret('kept', 'kept-one');
    await before.setSecret('kept', 'kept-two', { tags: { t: '1' } });
    await before.setSecret('binned', 'x');
    await (await before.beginDeleteSecret('binned', { intervalInMs: 5 })).pollUntilDone();
    await first.stop();

    // Act
    const second = await startKeyVaultEmulator(options);
    try {
      const after = createEmulatorSecretClient(second);
      const latest = await after.getSecret('kept');
      const older = await after.getSecret('kept', { version: v1.properties.version! });
      const deleted = await after.getDeletedSecret('binned');

      // Assess
      expect(second.caCertPath).toBe(first.caCertPath);
      expect(latest.value).toBe('kept-two');
      expect(latest.properties.tags).toEqual({ t: '1' });
      expect(older.value).toBe('kept-one');
      expect(deleted.name).toBe('binned');
    } finally {
      await second.stop();
    }
  });

  it('keeps nothing across a restart without dataDir', async () => {
    // Prepare
    const first = await startKeyVaultEmulator();
    await createEmulatorSecretClient(first).setSecret('ephemeral', 'v');
    await first.stop();

    // Act
    const second = await startKeyVaultEmulator();
    try {
      const error = await createEmulatorSecretClient(second)
        .getSecret('ephemeral')
        .catch((e: unknown) => e as { statusCode: number });

      // Assess
      expect(error).toMatchObject({ statusCode: 404 });
    } finally {
      await second.stop();
    }
  });
});

describe('Key Vault emulator: plain HTTP and the HTTP admin surface', () => {
  let kv: KeyVaultEmulator;
  const admin = (path: string, init?: { method: string; body?: unknown }) =>
    fetch(`${kv.url}/_admin${path}`, {
      method: init?.method ?? 'GET',
      ...(init?.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
    });

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ protocol: 'http', clockStart: new Date('2030-01-01T00:00:00Z'), expiryCheckIntervalMs: 0 });
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
  });

  it('serves plain HTTP to a client with allowInsecureConnection, and has no CA', async () => {
    // Act
    const created = await createEmulatorSecretClient(kv).setSecret('over-http', 'v');

    // Assess
    expect(kv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(kv.caCertPath).toBeUndefined();
    expect(created.value).toBe('v');
  });

  it('moves the clock over HTTP, which publishes the events that come due', async () => {
    // Prepare
    const client = createEmulatorSecretClient(kv);
    await client.setSecret('expiring', 'v', { expiresOn: new Date(Date.parse('2030-01-01T00:00:00Z') + 40 * DAY) });

    // Act
    const moved = await admin('/clock', { method: 'POST', body: { advanceBy: 'P11D' } });
    const events = (await (await admin('/events')).json()) as Array<{ eventType: string }>;

    // Assess
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { now: string }).now).toMatch(/^2030-01-12T/);
    expect(events.map((e) => e.eventType)).toEqual([
      'Microsoft.KeyVault.SecretNewVersionCreated',
      'Microsoft.KeyVault.SecretNearExpiry',
    ]);
  });

  it('injects faults and reads counters over HTTP', async () => {
    // Prepare
    const injected = await admin('/faults', {
      method: 'POST',
      body: { operation: 'list', effect: { kind: 'status', status: 503 }, times: 1 },
    });

    // Act
    const first = await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=7.6', headers: { authorization: 'Bearer t' } });
    const second = await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=7.6', headers: { authorization: 'Bearer t' } });
    const counters = (await (await admin('/counters')).json()) as { operations: Record<string, unknown> };

    // Assess
    expect(injected.status).toBe(201);
    expect([first.status, second.status]).toEqual([503, 200]);
    expect(first.json.error.code).toBe('ServiceUnavailable');
    expect(counters.operations.list).toEqual({ calls: 2, throttled: 0, errors: 1, faulted: 1 });
  });

  it('configures throttling over HTTP', async () => {
    // Act
    const configured = await admin('/throttle', { method: 'PUT', body: { othersPerWindow: 1 } });
    const statuses = [];
    for (let i = 0; i < 2; i += 1) {
      statuses.push((await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=7.6', headers: { authorization: 'Bearer t' } })).status);
    }
    await admin('/throttle', { method: 'PUT', body: { enabled: false } });

    // Assess
    expect(configured.status).toBe(200);
    expect(statuses).toEqual([200, 429]);
    expect(((await (await admin('/throttle')).json()) as { limits: unknown }).limits).toBeNull();
  });

  it.each([
    { case: 'a clock move that is not a duration', path: '/clock', method: 'POST', body: { advanceBy: 'next week' }, field: 'advanceBy' },
    { case: 'a fault on an unknown operation', path: '/faults', method: 'POST', body: { operation: 'nope', effect: { kind: 'reset' } }, field: 'operation' },
    { case: 'a negative throttle limit', path: '/throttle', method: 'PUT', body: { othersPerWindow: -1 }, field: 'othersPerWindow' },
  ])('answers $case with 400 problem+json naming the field', async ({ path, method, body, field }) => {
    // Act
    const response = await admin(path, { method, body });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { field: string }).field).toBe(field);
  });

  it('describes itself at /_admin without a token', async () => {
    // Act
    const response = await admin('');

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ vaultName: 'rotor-local', url: kv.url, caCertPath: null });
  });
});
