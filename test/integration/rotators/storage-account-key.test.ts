import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator } from '../../../emulators/azure-management/index.js';
import { isRotatorError } from '../../../src/rotation/rotator-errors.js';
import { createStorageAccountKeyRotator } from '../../../src/rotators/storage-account-key/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { createRotationHarness, engineView, expectRotatorError, policyFor } from '../../helpers/rotator-harness.js';

/** Does Azurite accept SharedKey auth with this key? The real proof that a key works. */
async function authenticates(emulator: AzureManagementEmulator, account: string, key: string): Promise<boolean> {
  try {
    await new BlobServiceClient(emulator.blobEndpoint(account), new StorageSharedKeyCredential(account, key), { retryOptions: { maxTries: 1 } }).getProperties();
    return true;
  } catch {
    return false;
  }
}

describe('storage-account-key rotator (ARM stand-in + Azurite holding the same keys)', () => {
  let emulator: AzureManagementEmulator;
  const credential = createFakeCredential();

  beforeAll(async () => {
    emulator = await startAzureManagementEmulator({
      azurite: true,
      storageAccounts: [{ name: 'strotorkeys' }, { name: 'strotorconn' }, { name: 'strotorfaults' }, { name: 'strotorrevoke' }],
    });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  const rotatorFor = () =>
    engineView(
      createStorageAccountKeyRotator({
        credential,
        armEndpoint: emulator.armEndpoint,
        blobEndpoint: (name) => emulator.blobEndpoint(name),
        transport: { tls: { ca: emulator.ca }, retryDelayMs: 5, pollIntervalMs: 0 },
      }),
    );

  const harnessFor = (account: string, tags: Record<string, string> = {}) => {
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'storage-account-key', target: emulator.storageAccountId(account), tags });
    const initial = tags['rotor-storage-format'] === 'connection-string' ? `AccountName=${account};AccountKey=${emulator.admin.storageAccount(account).key1}` : emulator.admin.storageAccount(account).key1;
    return { rotator, harness: createRotationHarness({ rotator, policy, initial: { value: initial } }) };
  };

  it('alternates key1/key2, and the old key authenticates until the next rotation', async () => {
    // Prepare
    const { rotator, harness } = harnessFor('strotorkeys');
    const key0 = emulator.admin.storageAccount('strotorkeys').key1;

    // Act: rotation 1 (prepare, promote, verify)
    const first = await rotator.prepare(harness.context('rot-1'));
    harness.promote('rot-1', first);
    const firstTest = await rotator.test(harness.context('rot-1'), first.value);

    // Assess: key2 was regenerated; the consumers' key1 is untouched and still authenticates
    expect(first.slot).toBe('key2');
    expect(first.value.reveal()).toBe(emulator.admin.storageAccount('strotorkeys').key2);
    expect(firstTest).toEqual({ ok: true });
    expect(await authenticates(emulator, 'strotorkeys', key0)).toBe(true);
    expect(await authenticates(emulator, 'strotorkeys', first.value.reveal())).toBe(true);

    // Act: rotation 2 regenerates key1
    const second = await rotator.prepare(harness.context('rot-2'));
    harness.promote('rot-2', second);

    // Assess: key0 is gone now, rotation 1's key still works
    expect(second.slot).toBe('key1');
    expect(await authenticates(emulator, 'strotorkeys', key0)).toBe(false);
    expect(await rotator.test(harness.context('rot-2'), SecretValue.from(key0))).toMatchObject({ ok: false });
    expect(await authenticates(emulator, 'strotorkeys', first.value.reveal())).toBe(true);
    expect(await rotator.test(harness.context('rot-2'), second.value)).toEqual({ ok: true });
    expectNoSecretIn(harness.logText(), [key0, first.value.reveal(), second.value.reveal()]);
    expect(credential.scopes).toContain(`${emulator.armEndpoint}/.default`);
  });

  it('stores a connection string when asked, and the connection string works as is', async () => {
    const { rotator, harness } = harnessFor('strotorconn', { 'rotor-storage-format': 'connection-string' });

    const prepared = await rotator.prepare(harness.context('rot-cs'));

    expect(prepared.value.reveal()).toContain(`AccountName=strotorconn;AccountKey=${emulator.admin.storageAccount('strotorconn').key2}`);
    const client = BlobServiceClient.fromConnectionString(prepared.value.reveal(), { retryOptions: { maxTries: 1 } });
    await expect(client.getProperties()).resolves.toBeDefined();
    expect(await rotator.test(harness.context('rot-cs'), prepared.value)).toEqual({ ok: true });
  });

  it('replays prepare after a lost regenerateKey answer without touching the key in use', async () => {
    // Prepare: the provider regenerates key2, but the answer never arrives
    const { rotator, harness } = harnessFor('strotorfaults');
    const active = emulator.admin.storageAccount('strotorfaults').key1;
    emulator.admin.inject({ kind: 'drop', pathIncludes: '/storageAccounts/strotorfaults/regenerateKey' });

    // Act
    const lost = await expectRotatorError(rotator.prepare(harness.context('rot-crash', 1)));
    const replay = await rotator.prepare(harness.context('rot-crash', 2));

    // Assess: a transient error, then the same inactive slot, and key1 never changed
    expect(lost).toMatchObject({ code: 'ProviderUnavailable', transient: true });
    expect(replay.slot).toBe('key2');
    expect(emulator.admin.storageAccount('strotorfaults').key1).toBe(active);
    expect(await rotator.test(harness.context('rot-crash', 2), replay.value)).toEqual({ ok: true });
  });

  it('rollback keeps the previous key working and changes nothing at the provider', async () => {
    const { rotator, harness } = harnessFor('strotorfaults');
    const previous = harness.current;
    const prepared = await rotator.prepare(harness.context('rot-rb'));
    harness.promote('rot-rb', prepared);
    const callsBefore = emulator.admin.calls.filter((c) => c.path.endsWith('/regenerateKey')).length;

    await rotator.restore?.(harness.context('rot-rb'), previous, prepared);
    harness.restoreVersion(previous);

    expect(emulator.admin.calls.filter((c) => c.path.endsWith('/regenerateKey'))).toHaveLength(callsBefore);
    expect(await rotator.test(harness.context('rot-rb'), previous.value)).toEqual({ ok: true });
  });

  it('rollback fails clearly when the previous key was regenerated outside Rotor', async () => {
    const { rotator, harness } = harnessFor('strotorfaults');
    const previous = harness.current;
    const prepared = await rotator.prepare(harness.context('rot-rb2'));
    emulator.admin.regenerateStorageKey('strotorfaults', 'key1');

    const error = await expectRotatorError(rotator.restore!(harness.context('rot-rb2'), previous, prepared));

    expect(error).toMatchObject({ code: 'ProviderRejected', transient: false });
    expect(error.message).toContain('previous key is no longer one of its keys');
  });

  it('revoke-after regenerates the superseded key, once, and never the one in use', async () => {
    // Prepare: a completed rotation
    const { rotator, harness } = harnessFor('strotorrevoke');
    const superseded = harness.current;
    const prepared = await rotator.prepare(harness.context('rot-rv'));
    harness.promote('rot-rv', prepared);
    const regenerations = () => emulator.admin.calls.filter((c) => c.path.includes('strotorrevoke/regenerateKey')).length;
    const before = regenerations();

    // Act: revoke, then a redelivered revoke
    await rotator.revoke?.(harness.context('rot-rv'), superseded);
    await rotator.revoke?.(harness.context('rot-rv', 2), superseded);
    const refused = await expectRotatorError(rotator.revoke!(harness.context('rot-rv', 3), harness.current));

    // Assess
    expect(regenerations()).toBe(before + 1);
    expect(await authenticates(emulator, 'strotorrevoke', superseded.value.reveal())).toBe(false);
    expect(await authenticates(emulator, 'strotorrevoke', prepared.value.reveal())).toBe(true);
    expect(refused).toMatchObject({ code: 'InvalidConfiguration' });
  });

  it('waits out a short Retry-After, and hands a long one to the engine as a transient error', async () => {
    const { rotator, harness } = harnessFor('strotorfaults');

    emulator.admin.inject({ kind: 'throttle', pathIncludes: 'strotorfaults/listKeys', retryAfterSeconds: 0 });
    const prepared = await rotator.prepare(harness.context('rot-429'));
    emulator.admin.inject({ kind: 'throttle', pathIncludes: 'strotorfaults/listKeys', retryAfterSeconds: 120, times: 5 });
    const error = await expectRotatorError(rotator.prepare(harness.context('rot-429b')));
    emulator.admin.clearFaults();

    expect(prepared.slot).toBeDefined();
    expect(error).toMatchObject({ code: 'ProviderThrottled', transient: true, retryAfterMs: 120_000 });
  });

  it.each([
    { name: 'a 403', fault: { kind: 'fail' as const, status: 403 }, code: 'PermissionDenied', transient: false },
    { name: 'a 500 on every try', fault: { kind: 'fail' as const, status: 500, times: 10 }, code: 'ProviderUnavailable', transient: true },
  ])('translates $name into $code', async ({ fault, code, transient }) => {
    const { rotator, harness } = harnessFor('strotorfaults');
    emulator.admin.inject({ ...fault, pathIncludes: 'strotorfaults/listKeys' });

    const error = await expectRotatorError(rotator.prepare(harness.context('rot-err')));
    emulator.admin.clearFaults();

    expect(isRotatorError(error)).toBe(true);
    expect(error).toMatchObject({ code, transient });
  });

  it('answers TargetNotFound for an account the subscription does not have', async () => {
    const rotator = rotatorFor();
    const policy = policyFor({
      rotator: 'storage-account-key',
      target: emulator.storageAccountId('strotorkeys').replace('strotorkeys', 'stnosuchaccount'),
    });
    const harness = createRotationHarness({ rotator, policy, initial: { value: 'a2V5' } });

    const error = await expectRotatorError(rotator.prepare(harness.context('rot-404')));

    expect(error).toMatchObject({ code: 'TargetNotFound', transient: false });
  });

  it.each<{ case: string; target: string | undefined; tags: Record<string, string>; tag: string }>([
    { case: 'no target', target: undefined, tags: {}, tag: 'rotor-target' },
    { case: 'a topic id', target: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t1', tags: {}, tag: 'rotor-target' },
    { case: 'an upper-case account name', target: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/BadName', tags: {}, tag: 'rotor-target' },
    { case: 'an unknown format', target: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stok', tags: { 'rotor-storage-format': 'sas' }, tag: 'rotor-storage-format' },
  ])('validate names the tag for $case', ({ target, tags, tag }) => {
    const rotator = rotatorFor();

    const problems = rotator.validate(policyFor({ rotator: 'storage-account-key', ...(target === undefined ? {} : { target }), tags }));

    expect(problems.map((p) => p.tag)).toContain(tag);
  });

  it('validate refuses the single strategy and accepts a well-formed policy', () => {
    const rotator = rotatorFor();
    const target = emulator.storageAccountId('strotorkeys');

    expect(rotator.validate(policyFor({ rotator: 'storage-account-key', target, strategy: 'single' })).map((p) => p.tag)).toEqual(['rotor-strategy']);
    expect(rotator.validate(policyFor({ rotator: 'storage-account-key', target }))).toEqual([]);
  });
});
