import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import invalidNames from '../../fixtures/keyvault/invalid-secret-names.json' with { type: 'json' };
import { bearer, rawRequest, rejectionOf } from './raw.js';

const START = new Date('2030-01-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

describe('Key Vault emulator: secrets and versions', () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ clockStart: START });
    client = createEmulatorSecretClient(kv);
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
    kv.admin.clock.set(START);
  });

  it('creates a version with a 32-hex id, the vault URL in its id and created = updated = now', async () => {
    // Act
    const created = await client.setSecret('db-password', 'first-value', { tags: { 'rotor-rotator': 'postgres' } });

    // Assess
    expect(created.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(created.properties.id).toBe(`${kv.url}/secrets/db-password/${created.properties.version}`);
    expect(created.properties.vaultUrl).toBe(kv.url);
    expect(created.properties.tags).toEqual({ 'rotor-rotator': 'postgres' });
    expect(created.properties.enabled).toBe(true);
    expect(Math.abs(created.properties.createdOn!.getTime() - START.getTime())).toBeLessThan(60_000);
    expect(created.properties.updatedOn).toEqual(created.properties.createdOn);
    expect(created.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(created.properties.recoverableDays).toBe(90);
  });

  it('serves the last created version as latest and any version by id', async () => {
    // Prepare
    const first = await client.setSecret('rotating', 'value-one');
    const second = await client.setSecret('rotating', 'value-two');

    // Act
    const latest = await client.getSecret('rotating');
    const older = await client.getSecret('rotating', { version: first.properties.version! });

    // Assess
    expect(latest.value).toBe('value-two');
    expect(latest.properties.version).toBe(second.properties.version);
    expect(older.value).toBe('value-one');
  });

  it('treats secret names case-insensitively, keeping the first spelling', async () => {
    // Prepare
    await client.setSecret('Api-Key', 'value-one');

    // Act
    await client.setSecret('api-key', 'value-two');
    const read = await client.getSecret('API-KEY');

    // Assess
    expect(read.value).toBe('value-two');
    expect(read.name).toBe('Api-Key');
  });

  it('answers 404 SecretNotFound for an unknown name and for an unknown version', async () => {
    // Prepare
    await client.setSecret('known', 'v');

    // Act
    const unknownName = await rejectionOf(client.getSecret('unknown'));
    const unknownVersion = await rejectionOf(client.getSecret('known', { version: '0123456789abcdef0123456789abcdef' }));

    // Assess
    expect(unknownName.statusCode).toBe(404);
    expect(unknownName.code).toBe('SecretNotFound');
    expect(unknownVersion.statusCode).toBe(404);
    expect(unknownVersion.code).toBe('SecretNotFound');
  });

  it('answers 403 with inner SecretDisabled to a get of a disabled version, the latest included, until re-enabled', async () => {
    // Prepare
    const old = await client.setSecret('disabled-latest', 'old-value');
    const latest = await client.setSecret('disabled-latest', 'new-value');
    await client.updateSecretProperties('disabled-latest', latest.properties.version!, { enabled: false });

    // Act
    const latestError = await rejectionOf(client.getSecret('disabled-latest'));
    const byVersionError = await rejectionOf(client.getSecret('disabled-latest', { version: latest.properties.version! }));
    const olderStillReadable = await client.getSecret('disabled-latest', { version: old.properties.version! });
    await client.updateSecretProperties('disabled-latest', latest.properties.version!, { enabled: true });
    const reEnabled = await client.getSecret('disabled-latest');

    // Assess
    for (const error of [latestError, byVersionError]) {
      expect(error.statusCode).toBe(403);
      expect(error.code).toBe('Forbidden');
      expect(error.details?.error.message).toBe('Operation get is not allowed on a disabled secret.');
      expect(error.details?.error.innerError?.code).toBe('SecretDisabled');
    }
    expect(olderStillReadable.value).toBe('old-value');
    expect(reEnabled.value).toBe('new-value');
  });

  it('updates properties without a value in the answer, keeps the value and moves updated, not created', async () => {
    // Prepare
    const created = await client.setSecret('props', 'kept-value', { contentType: 'text/plain', tags: { a: '1' } });
    kv.admin.clock.advance(DAY);
    const expiresOn = new Date(START.getTime() + 90 * DAY);

    // Act
    const updated = await client.updateSecretProperties('props', created.properties.version!, {
      tags: { b: '2' },
      expiresOn,
    });
    const read = await client.getSecret('props');

    // Assess
    expect(updated.tags).toEqual({ b: '2' });
    expect(updated.contentType).toBe('text/plain');
    expect(updated.expiresOn).toEqual(expiresOn);
    expect(updated.createdOn).toEqual(created.properties.createdOn);
    expect(updated.updatedOn!.getTime() - created.properties.updatedOn!.getTime()).toBeGreaterThanOrEqual(DAY - 1000);
    expect(read.value).toBe('kept-value');
  });

  it('stores exp and nbf without enforcing them: an expired or not-yet-valid secret is still served', async () => {
    // Prepare
    const expiresOn = new Date(START.getTime() - DAY);
    const notBefore = new Date(START.getTime() + 10 * DAY);
    await client.setSecret('expired', 'still-served', { expiresOn });
    await client.setSecret('not-yet', 'also-served', { notBefore });

    // Act
    const expired = await client.getSecret('expired');
    const notYet = await client.getSecret('not-yet');

    // Assess
    expect(expired.value).toBe('still-served');
    expect(expired.properties.expiresOn).toEqual(expiresOn);
    expect(notYet.value).toBe('also-served');
    expect(notYet.properties.notBefore).toEqual(notBefore);
  });

  it('keeps no value in list answers', async () => {
    // Prepare
    await client.setSecret('listed', 'never-in-a-list');

    // Act
    const response = await rawRequest(kv, { method: 'GET', path: '/secrets?api-version=2025-07-01', headers: bearer() });
    const versions = await rawRequest(kv, { method: 'GET', path: '/secrets/listed/versions?api-version=2025-07-01', headers: bearer() });

    // Assess
    expect(response.text).not.toContain('never-in-a-list');
    expect(versions.text).not.toContain('never-in-a-list');
    expect(response.json.value[0].id).toBe(`${kv.url}/secrets/listed`);
  });

  describe('limits (400 BadParameter)', () => {
    const tags = (count: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`tag-${i}`, 'x']));

    it.each(invalidNames)('refuses the name $case', async ({ name }) => {
      // Act
      const error = await rejectionOf(client.setSecret(name, 'v'));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('BadParameter');
    });

    it.each([
      { case: 'a value over 25 KiB', value: 'x'.repeat(25 * 1024 + 1), options: {} },
      { case: 'a value over 25 KiB in UTF-8 bytes', value: 'é'.repeat(12 * 1024 + 513), options: {} },
      { case: '16 tags', value: 'v', options: { tags: tags(16) } },
      { case: 'a tag name of 513 characters', value: 'v', options: { tags: { ['n'.repeat(513)]: 'x' } } },
      { case: 'a tag value of 513 characters', value: 'v', options: { tags: { t: 'v'.repeat(513) } } },
      { case: 'a content type of 256 characters', value: 'v', options: { contentType: 'c'.repeat(256) } },
    ])('refuses $case', async ({ value, options }) => {
      // Act
      const error = await rejectionOf(client.setSecret('limited', value, options));

      // Assess
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('BadParameter');
      await expect(client.getSecret('limited')).rejects.toMatchObject({ statusCode: 404 });
    });

    it.each([
      { case: 'a value of exactly 25 KiB', value: 'x'.repeat(25 * 1024), options: {} },
      { case: '15 tags', value: 'v', options: { tags: tags(15) } },
      { case: 'tag name and value of 512 characters', value: 'v', options: { tags: { ['n'.repeat(512)]: 'v'.repeat(512) } } },
      { case: 'a content type of 255 characters', value: 'v', options: { contentType: 'c'.repeat(255) } },
      { case: 'an empty value', value: '', options: {} },
    ])('accepts $case', async ({ value, options }) => {
      // Act
      const created = await client.setSecret('at-the-limit', value, options);

      // Assess
      expect((await client.getSecret('at-the-limit')).value).toBe(value);
      expect(created.properties.version).toMatch(/^[0-9a-f]{32}$/);
    });

    it('refuses tags over the limit on update too, leaving the version unchanged', async () => {
      // Prepare
      const created = await client.setSecret('update-limits', 'v', { tags: { kept: 'yes' } });

      // Act
      const error = await rejectionOf(client.updateSecretProperties('update-limits', created.properties.version!, { tags: tags(16) }));

      // Assess
      expect(error.statusCode).toBe(400);
      expect((await client.getSecret('update-limits')).properties.tags).toEqual({ kept: 'yes' });
    });

    it('refuses a body without a value, naming the field', async () => {
      // Act
      const response = await rawRequest(kv, {
        method: 'PUT',
        path: '/secrets/no-value?api-version=2025-07-01',
        headers: bearer(),
        body: JSON.stringify({ contentType: 'text/plain' }),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('BadParameter');
      expect(response.json.error.message).toContain("'value'");
    });
  });
});
