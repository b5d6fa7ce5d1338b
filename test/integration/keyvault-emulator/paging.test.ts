import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import { bearer, rawRequest } from './raw.js';

describe('Key Vault emulator: paged lists', () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ deletionDelayMs: 0 });
    client = createEmulatorSecretClient(kv);
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
  });

  const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `secret-${String(i).padStart(2, '0')}`);

  it('pages at 25 by default and the SDK follows nextLink to the end', async () => {
    // Prepare
    for (const name of names(30)) await client.setSecret(name, 'v');
    kv.admin.resetCounters();

    // Act
    const listed: string[] = [];
    for await (const properties of client.listPropertiesOfSecrets()) listed.push(properties.name);

    // Assess
    expect(listed).toEqual(names(30));
    expect(kv.admin.counters().operations.list.calls).toBe(2);
  });

  it('honours maxPageSize (maxresults) on every page', async () => {
    // Prepare
    for (const name of names(7)) await client.setSecret(name, 'v');

    // Act
    const pages: string[][] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 3 })) {
      pages.push(page.map((p) => p.name));
    }

    // Assess
    expect(pages).toEqual([names(7).slice(0, 3), names(7).slice(3, 6), names(7).slice(6)]);
  });

  it('lists every version of a secret across pages, in version-id order as Key Vault does', async () => {
    // Prepare
    const versions: string[] = [];
    for (let i = 0; i < 5; i += 1) versions.push((await client.setSecret('many-versions', `v${i}`)).properties.version!);

    // Act
    const listed: string[] = [];
    for await (const page of client.listPropertiesOfSecretVersions('many-versions').byPage({ maxPageSize: 2 })) {
      listed.push(...page.map((p) => p.version!));
    }

    // Assess
    expect(listed).toEqual([...versions].sort());
    expect(kv.admin.counters().operations.listVersions.calls).toBe(3);
  });

  it('lists deleted secrets across pages', async () => {
    // Prepare
    for (const name of names(4)) {
      await client.setSecret(name, 'v');
      await (await client.beginDeleteSecret(name)).pollUntilDone();
    }

    // Act
    const listed: string[] = [];
    for await (const page of client.listDeletedSecrets().byPage({ maxPageSize: 3 })) listed.push(...page.map((d) => d.name));

    // Assess
    expect(listed).toEqual(names(4));
  });

  it('puts an absolute nextLink with api-version and maxresults in the body, and null on the last page', async () => {
    // Prepare
    for (const name of names(3)) await client.setSecret(name, 'v');

    // Act
    const first = await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=7.6&maxresults=2', headers: bearer() });
    const next = new URL(first.json.nextLink as string);
    const second = await rawRequest(kv, { method: 'GET', path: `${next.pathname}${next.search}`, headers: bearer() });

    // Assess
    expect(next.origin).toBe(kv.url);
    expect(next.searchParams.get('api-version')).toBe('7.6');
    expect(next.searchParams.get('maxresults')).toBe('2');
    expect(next.searchParams.get('$skiptoken')).not.toBeNull();
    expect(second.json.value).toHaveLength(1);
    expect(second.json.nextLink).toBeNull();
  });

  it.each(['0', '26', 'ten'])('refuses maxresults=%s with 400 BadParameter', async (maxresults) => {
    // Act
    const response = await rawRequest(kv, { method: 'GET', path: `/secrets?api-version=7.6&maxresults=${maxresults}`, headers: bearer() });

    // Assess
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('BadParameter');
  });

  it('lists no versions for a name that does not exist', async () => {
    // Act
    const listed: string[] = [];
    for await (const properties of client.listPropertiesOfSecretVersions('nothing-here')) listed.push(properties.version!);

    // Assess
    expect(listed).toEqual([]);
  });
});
