import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient, startKeyVaultEmulator, type KeyVaultEmulator } from '../../../emulators/keyvault/index.js';
import { isSecretStoreError } from '../../../src/keyvault/errors.js';
import { createKeyVaultSecretStore } from '../../../src/keyvault/secret-store.js';
import type { SecretRead, SecretStore, StoredSecret } from '../../../src/rotation/ports.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';

let kv: KeyVaultEmulator;
let store: SecretStore;
let vaultUrl: string;
const fastBackoff = [5, 10, 20, 40, 80];

function storeFor(role: 'officer' | 'user' = 'officer'): SecretStore {
  return createKeyVaultSecretStore({
    clientFor: () => createEmulatorSecretClient(kv, { role, clientOptions: { retryOptions: { maxRetries: 0 } } }),
    backoffMs: fastBackoff,
  });
}

beforeAll(async () => {
  kv = await startKeyVaultEmulator({ expiryCheckIntervalMs: 0 });
  vaultUrl = new URL(kv.url).origin;
  store = storeFor();
});

afterAll(async () => {
  await kv.stop();
});

beforeEach(() => {
  kv.admin.faults.clear();
  kv.admin.resetCounters();
});

function found(read: SecretRead): StoredSecret {
  if (read.kind !== 'found') throw new Error(`expected a readable version, got ${read.kind}`);
  return read.secret;
}

describe('Key Vault secret store over the real SecretClient', () => {
  it('writes a version with tags, content type and expiry, and reads it back by latest and by version', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'round-trip' };
    const expiresOn = new Date(Date.now() + 90 * 86_400_000);
    expiresOn.setMilliseconds(0);

    // Act
    const written = await store.setSecret(ref, { value: SecretValue.from('round-trip-value-1'), tags: { 'rotor-rotator': 'random' }, contentType: 'text/plain', expiresOn });
    const latest = found(await store.getLatest(ref));
    const byVersion = found(await store.getVersion(ref, written.version));

    // Assess
    expect(written.version).toMatch(/^[0-9a-f]{32}$/);
    expect(latest.value.reveal()).toBe('round-trip-value-1');
    expect(latest).toMatchObject({ version: written.version, enabled: true, tags: { 'rotor-rotator': 'random' }, contentType: 'text/plain', expiresOn });
    expect(byVersion.version).toBe(written.version);
  });

  it('answers missing for a missing secret or version', async () => {
    expect(await store.getLatest({ vaultUrl, name: 'never-written' })).toEqual({ kind: 'missing' });
    expect(await store.getVersion({ vaultUrl, name: 'never-written' }, '0'.repeat(32))).toEqual({ kind: 'missing' });
  });

  it('answers disabled for a get of a disabled latest version, with no value anywhere', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'disabled-latest' };
    const written = await store.setSecret(ref, { value: SecretValue.from('disabled-value-1'), tags: {} });
    await store.setEnabled(ref, written.version, false);

    // Act
    const read = await store.getLatest(ref);

    // Assess
    expect(read).toEqual({ kind: 'disabled' });
    expect(JSON.stringify(read)).not.toContain('disabled-value-1');
  });

  it('lists every version across pages', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'many-versions' };
    for (let i = 0; i < 30; i += 1) await store.setSecret(ref, { value: SecretValue.from(`version-value-${i}`), tags: { i: String(i) } });

    // Act
    const versions = [];
    for await (const v of store.listVersions(ref)) versions.push(v);

    // Assess
    expect(versions).toHaveLength(30);
    expect(new Set(versions.map((v) => v.tags.i)).size).toBe(30);
  });

  it('answers a 429 at once, Throttled with a notBefore that climbs the ladder while 429s keep coming', async () => {
    // Prepare: a fixed clock and no jitter, so notBefore is exactly now + the rung
    const at = Date.parse('2026-12-05T01:00:00.000Z');
    const throttledStore = createKeyVaultSecretStore({
      clientFor: () => createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } }),
      backoffMs: fastBackoff,
      random: () => 0.5,
      now: () => at,
    });
    const ref = { vaultUrl, name: 'throttled' };
    await store.setSecret(ref, { value: SecretValue.from('throttled-value-1'), tags: {} });
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'status', status: 429 }, times: 2 });

    // Act
    const first = await throttledStore.getLatest(ref).catch((e: unknown) => e);
    const second = await throttledStore.getLatest(ref).catch((e: unknown) => e);
    const third = found(await throttledStore.getLatest(ref));

    // Assess: one call each, never slept out in the store
    expect(isSecretStoreError(first) && { code: first.code, transient: first.transient, notBefore: first.notBefore?.getTime() }).toEqual({ code: 'Throttled', transient: true, notBefore: at + fastBackoff[0]! });
    expect(isSecretStoreError(second) && second.notBefore?.getTime()).toBe(at + fastBackoff[1]!);
    expect(third.value.reveal()).toBe('throttled-value-1');
    expect(kv.admin.counters().operations.get?.calls).toBe(3);
  });

  it("takes Key Vault's Retry-After as the notBefore when it sends one", async () => {
    // Prepare
    const at = Date.parse('2026-12-05T01:00:00.000Z');
    const throttledStore = createKeyVaultSecretStore({ clientFor: () => createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } }), backoffMs: fastBackoff, now: () => at });
    kv.admin.faults.inject({ operation: 'set', effect: { kind: 'status', status: 429, retryAfterSeconds: 7 }, times: 1 });

    // Act
    const error = await throttledStore.setSecret({ vaultUrl, name: 'retry-after' }, { value: SecretValue.from('retry-after-value-1'), tags: {} }).catch((e: unknown) => e);

    // Assess
    expect(isSecretStoreError(error) && error.notBefore?.getTime()).toBe(at + 7_000);
    expect(kv.admin.counters().operations.set?.calls).toBe(1);
  });

  it('gives up after the ladder with 503 on every try', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'always-failing' };
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'status', status: 503 } });

    // Act
    const error = await store.getLatest(ref).catch((e: unknown) => e);

    // Assess
    expect(isSecretStoreError(error) && error.code).toBe('Unavailable');
    expect(isSecretStoreError(error) && error.transient).toBe(true);
    expect(kv.admin.counters().operations.get?.calls).toBe(fastBackoff.length + 1);
  });

  it('does not retry a set after a 503, which may have created a version', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'set-503' };
    kv.admin.faults.inject({ operation: 'set', effect: { kind: 'status', status: 503 }, times: 1 });

    // Act
    const error = await store.setSecret(ref, { value: SecretValue.from('set-503-value-1'), tags: {} }).catch((e: unknown) => e);

    // Assess
    expect(isSecretStoreError(error) && error.code).toBe('Unavailable');
    expect(kv.admin.counters().operations.set?.calls).toBe(1);
  });

  it('does not retry a set that was throttled: nothing written, the caller comes back at notBefore', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'set-429' };
    kv.admin.faults.inject({ operation: 'set', effect: { kind: 'status', status: 429 }, times: 1 });

    // Act
    const error = await store.setSecret(ref, { value: SecretValue.from('set-429-value-1'), tags: {} }).catch((e: unknown) => e);

    // Assess
    expect(isSecretStoreError(error) && error.code).toBe('Throttled');
    const versions = [];
    for await (const v of store.listVersions(ref)) versions.push(v);
    expect(versions).toHaveLength(0);
  });

  it('translates a refused role into Forbidden', async () => {
    const error = await storeFor('user').setSecret({ vaultUrl, name: 'forbidden' }, { value: SecretValue.from('forbidden-value-1'), tags: {} }).catch((e: unknown) => e);
    expect(isSecretStoreError(error) && error.code).toBe('Forbidden');
  });

  it('translates a dropped connection into Unavailable and retries reads', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'reset' };
    await store.setSecret(ref, { value: SecretValue.from('reset-value-1'), tags: {} });
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'reset' }, times: 2 });

    // Act
    const latest = found(await store.getLatest(ref));

    // Assess
    expect(latest.value.reveal()).toBe('reset-value-1');
  });
});

describe('listing under faults', () => {
  it('restarts a listing whose second page failed and yields each version once', async () => {
    // Prepare
    const ref = { vaultUrl, name: 'listing-fault' };
    for (let i = 0; i < 30; i += 1) await store.setSecret(ref, { value: SecretValue.from(`listing-value-${i}`), tags: { i: String(i) } });
    kv.admin.faults.inject({ operation: 'listVersions', effect: { kind: 'status', status: 503 }, times: 1 });
    const versions = [];
    const iterator = store.listVersions(ref)[Symbol.asyncIterator]();
    versions.push((await iterator.next()).value);
    kv.admin.faults.inject({ operation: 'listVersions', effect: { kind: 'status', status: 503 }, times: 1 });

    // Act
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) versions.push(next.value);

    // Assess
    expect(versions.map((v) => v.tags.i).sort()).toEqual(Array.from({ length: 30 }, (_, i) => String(i)).sort());
  });

  it('lists a page at a time with one listing call per page, resuming from the token it gave', async () => {
    // Prepare
    const pagingKv = await startKeyVaultEmulator({ expiryCheckIntervalMs: 0 });
    try {
      const writer = createEmulatorSecretClient(pagingKv);
      for (let i = 0; i < 30; i += 1) await writer.setSecret(`paged-${String(i).padStart(2, '0')}`, `value-${i}-0123456789`);
      const pagingStore = createKeyVaultSecretStore({ clientFor: () => createEmulatorSecretClient(pagingKv, { clientOptions: { retryOptions: { maxRetries: 0 } } }) });
      const origin = new URL(pagingKv.url).origin;
      pagingKv.admin.resetCounters();

      // Act
      const first = await pagingStore.listSecretsPage(origin, { limit: 25 });
      const second = await pagingStore.listSecretsPage(origin, { limit: 25, continuationToken: first.continuationToken! });

      // Assess
      expect(first.items).toHaveLength(25);
      expect(first.continuationToken).toBeDefined();
      expect(second.items).toHaveLength(5);
      expect(second.continuationToken).toBeUndefined();
      expect(new Set([...first.items, ...second.items].map((i) => i.secret.name)).size).toBe(30);
      expect(pagingKv.admin.counters().operations.list.calls).toBe(2);
      await expect(pagingStore.listSecretsPage(origin, { limit: 25, continuationToken: 'https://elsewhere.example/secrets?$skiptoken=x' })).rejects.toMatchObject({ code: 'BadRequest' });
    } finally {
      await pagingKv.stop();
    }
  });
});
