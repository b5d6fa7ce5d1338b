import { randomBytes } from 'node:crypto';
import { AnonymousCredential, BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteAccounts, type AzuriteAccounts } from '../../../emulators/azure-management/azurite-accounts.js';
import { createStorageSasRotator } from '../../../src/rotators/storage-sas/index.js';
import { policyIdFor } from '../../../src/rotators/storage-sas/target.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { createRotationHarness, engineView, expectRotatorError, policyFor } from '../../helpers/rotator-harness.js';

const account = 'stvaletkeys';
const key1 = randomBytes(64).toString('base64');
const key2 = randomBytes(64).toString('base64');

/** Can the holder of this SAS list the container? Asked of Azurite through the real SDK. */
async function lists(sasUrl: string): Promise<boolean> {
  try {
    await new ContainerClient(sasUrl, new AnonymousCredential(), { retryOptions: { maxTries: 1 } }).listBlobsFlat().byPage({ maxPageSize: 1 }).next();
    return true;
  } catch {
    return false;
  }
}

describe('storage-sas rotator (real Azurite, SharedKey-signed service SAS bound to stored access policies)', () => {
  let azurite: AzuriteAccounts;
  let service: BlobServiceClient;
  let connectionString: string;

  beforeAll(async () => {
    azurite = await startAzuriteAccounts([{ name: account, key1, key2 }]);
    service = new BlobServiceClient(azurite.blobEndpoint(account), new StorageSharedKeyCredential(account, key1));
    connectionString = `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key1};BlobEndpoint=${azurite.blobEndpoint(account)};`;
    for (const name of ['uploads', 'reports', 'full', 'crowded', 'public-assets']) await service.getContainerClient(name).create();
    await service.getContainerClient('reports').getBlockBlobClient('q3.csv').upload('a,b\n1,2\n', 8);
  });
  afterAll(async () => {
    await azurite.stop();
  });

  const setup = (target: string, tags: Record<string, string> = {}, initial = 'placeholder-before-first-rotation') => {
    const rotator = engineView(createStorageSasRotator());
    const policy = policyFor({ rotator: 'storage-sas', target, tags: { 'rotor-sas-key-secret': 'st-valet-account-key', ...tags } });
    const harness = createRotationHarness({ rotator, policy, initial: { value: initial }, otherSecrets: { 'st-valet-account-key': connectionString } });
    return { rotator, harness };
  };
  const containerUrl = (name: string) => `${azurite.blobEndpoint(account)}/${name}`;
  const policies = async (name: string) => (await service.getContainerClient(name).getAccessPolicy()).signedIdentifiers;

  it('mints a SAS bound to a new stored policy; the previous SAS works until the next rotation prunes it', async () => {
    // Prepare
    const { rotator, harness } = setup(containerUrl('uploads'), { 'rotor-sas-permissions': 'rl' });

    // Act: three rotations
    const first = await rotator.prepare(harness.context('rot-1'));
    harness.promote('rot-1', first);
    const firstTest = await rotator.test(harness.context('rot-1'), first.value);
    const second = await rotator.prepare(harness.context('rot-2'));
    harness.promote('rot-2', second);
    const firstAfterSecond = await lists(first.value.reveal());
    const third = await rotator.prepare(harness.context('rot-3'));
    harness.promote('rot-3', third);

    // Assess
    expect(first.value.reveal()).toMatch(new RegExp(`^${containerUrl('uploads')}\\?.*si=${first.slot}`));
    expect(firstTest).toEqual({ ok: true });
    expect(firstAfterSecond).toBe(true);
    expect(await lists(first.value.reveal())).toBe(false);
    expect(await lists(second.value.reveal())).toBe(true);
    expect(await lists(third.value.reveal())).toBe(true);
    expect((await policies('uploads')).map((p) => p.id).sort()).toEqual([second.slot, third.slot].sort());
    expect((await policies('uploads')).find((p) => p.id === third.slot)?.accessPolicy?.permissions).toBe('rl');
    expectNoSecretIn(harness.logText(), [first.value.reveal(), second.value.reveal(), key1]);
  });

  it('replays prepare into the same policy and the same SAS', async () => {
    const { rotator, harness } = setup(containerUrl('reports'));

    const once = await rotator.prepare(harness.context('rot-r', 1));
    const again = await rotator.prepare(harness.context('rot-r', 2));

    expect(again.value.equals(once.value)).toBe(true);
    expect((await policies('reports')).map((p) => p.id)).toEqual([policyIdFor(harness.secret, 'rot-r')]);
  });

  it('rollback removes the new policy and keeps the previous SAS', async () => {
    // Prepare: one completed rotation, then a second that fails verification
    const { rotator, harness } = setup(containerUrl('reports'));
    harness.promote('rot-a', await rotator.prepare(harness.context('rot-a')));
    const previous = harness.current;
    const failed = await rotator.prepare(harness.context('rot-b'));
    harness.promote('rot-b', failed);

    // Act
    await rotator.restore!(harness.context('rot-b'), previous, failed);
    await rotator.restore!(harness.context('rot-b', 2), previous, failed);
    harness.restoreVersion(previous);

    // Assess
    expect(await lists(previous.value.reveal())).toBe(true);
    expect(await lists(failed.value.reveal())).toBe(false);
    expect(await rotator.test(harness.context('rot-b'), failed.value)).toMatchObject({ ok: false });
  });

  it('revoke-after removes the superseded policy, idempotently, and never the current one', async () => {
    const { rotator, harness } = setup(containerUrl('reports'));
    harness.promote('rot-c', await rotator.prepare(harness.context('rot-c')));
    const superseded = harness.current;
    harness.promote('rot-d', await rotator.prepare(harness.context('rot-d')));

    await rotator.revoke!(harness.context('rot-d'), superseded);
    await rotator.revoke!(harness.context('rot-d', 2), superseded);
    const refused = await expectRotatorError(rotator.revoke!(harness.context('rot-d', 3), harness.current));

    expect(await lists(superseded.value.reveal())).toBe(false);
    expect(await lists(harness.current.value.reveal())).toBe(true);
    expect(refused).toMatchObject({ code: 'InvalidConfiguration' });
  });

  it('a blob SAS reads its blob and nothing beside it', async () => {
    const { rotator, harness } = setup(`${containerUrl('reports')}/q3.csv`, { 'rotor-sas-permissions': 'r' });

    const prepared = await rotator.prepare(harness.context('rot-blob'));
    const result = await rotator.test(harness.context('rot-blob'), prepared.value);

    expect(result).toEqual({ ok: true });
    const content = await new ContainerClient(prepared.value.reveal().replace('/q3.csv', '')).getBlobClient('q3.csv').downloadToBuffer();
    expect(content.toString()).toBe('a,b\n1,2\n');
  });

  it('with every permission granted, the self-test checks the SAS stays inside its container', async () => {
    const { rotator, harness } = setup(containerUrl('full'), { 'rotor-sas-permissions': 'rwdl', 'rotor-sas-format': 'token' });

    const prepared = await rotator.prepare(harness.context('rot-full'));

    expect(prepared.value.reveal()).toMatch(/^sv=/);
    expect(await rotator.test(harness.context('rot-full'), prepared.value)).toEqual({ ok: true });
    expect(await service.getContainerClient('full').getBlobClient('.rotor-probe').exists()).toBe(false);
  });

  it('the self-test fails a SAS that grants more than the policy says', async () => {
    // Prepare: a SAS minted with read+list, then the tags narrowed to list only
    const { rotator, harness } = setup(containerUrl('uploads'), { 'rotor-sas-permissions': 'rl' }, 'x');
    const prepared = await rotator.prepare(harness.context('rot-wide'));
    harness.setPolicy(policyFor({ rotator: 'storage-sas', target: containerUrl('uploads'), tags: { 'rotor-sas-key-secret': 'st-valet-account-key', 'rotor-sas-permissions': 'l' } }));

    const result = await rotator.test(harness.context('rot-wide'), prepared.value);

    expect(result).toMatchObject({ ok: false });
    expect(result.ok === false && result.reason).toContain('must not grant');
  });

  it('keeps the container public access level and other owners\u2019 policies', async () => {
    const container = service.getContainerClient('public-assets');
    const expiresOn = new Date(Date.now() + 3600_000);
    await container.setAccessPolicy('blob', [{ id: 'cdn-reader', accessPolicy: { permissions: 'r', expiresOn, startsOn: new Date(Date.now() - 60_000) } }]);
    const { rotator, harness } = setup(containerUrl('public-assets'));

    const prepared = await rotator.prepare(harness.context('rot-pub'));

    const acl = await container.getAccessPolicy();
    expect(acl.blobPublicAccess).toBe('blob');
    expect(acl.signedIdentifiers.map((s) => s.id).sort()).toEqual(['cdn-reader', prepared.slot].sort());
  });

  it('says so when the container has no room for another stored access policy', async () => {
    const container = service.getContainerClient('crowded');
    const policy = { permissions: 'r', startsOn: new Date(), expiresOn: new Date(Date.now() + 3600_000) };
    await container.setAccessPolicy(undefined, ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, accessPolicy: policy })));
    const { rotator, harness } = setup(containerUrl('crowded'));

    const error = await expectRotatorError(rotator.prepare(harness.context('rot-full5')));

    expect(error).toMatchObject({ code: 'ProviderRejected', transient: false });
    expect(error.message).toContain('5 stored access policies');
  });

  it('refuses an account key secret of another account, naming the tag', async () => {
    const { rotator, harness } = setup(containerUrl('uploads'));
    harness.setOtherSecret('st-valet-account-key', `AccountName=someoneelse;AccountKey=${key2}`);

    const error = await expectRotatorError(rotator.prepare(harness.context('rot-acct')));

    expect(error).toMatchObject({ code: 'InvalidConfiguration' });
    expect(error.message).toContain('rotor-target');
    expectNoSecretIn([error.message], [key2]);
  });

  it('answers PermissionDenied when the account key is wrong', async () => {
    const { rotator, harness } = setup(containerUrl('uploads'));
    harness.setOtherSecret('st-valet-account-key', randomBytes(64).toString('base64'));

    const error = await expectRotatorError(rotator.prepare(harness.context('rot-key')));

    expect(error).toMatchObject({ code: 'PermissionDenied', transient: false });
  });

  it.each<{ case: string; target?: string; tags: Record<string, string>; tag: string }>([
    { case: 'no target', tags: { 'rotor-sas-key-secret': 'k' }, tag: 'rotor-target' },
    { case: 'a target carrying a SAS', target: 'https://acct.blob.core.windows.net/c1?sv=2024&sig=abc', tags: { 'rotor-sas-key-secret': 'k' }, tag: 'rotor-target' },
    { case: 'no key secret', target: 'https://acct.blob.core.windows.net/uploads', tags: {}, tag: 'rotor-sas-key-secret' },
    { case: 'unknown permission letters', target: 'https://acct.blob.core.windows.net/uploads', tags: { 'rotor-sas-key-secret': 'k', 'rotor-sas-permissions': 'rx' }, tag: 'rotor-sas-permissions' },
    { case: 'list on a blob', target: 'https://acct.blob.core.windows.net/uploads/a.txt', tags: { 'rotor-sas-key-secret': 'k', 'rotor-sas-permissions': 'rl' }, tag: 'rotor-sas-permissions' },
    { case: 'nothing testable', target: 'https://acct.blob.core.windows.net/uploads', tags: { 'rotor-sas-key-secret': 'k', 'rotor-sas-permissions': 'ac' }, tag: 'rotor-sas-permissions' },
    { case: 'an unknown format', target: 'https://acct.blob.core.windows.net/uploads', tags: { 'rotor-sas-key-secret': 'k', 'rotor-sas-format': 'json' }, tag: 'rotor-sas-format' },
  ])('validate names the tag for $case', ({ target, tags, tag }) => {
    const problems = engineView(createStorageSasRotator()).validate(policyFor({ rotator: 'storage-sas', ...(target === undefined ? {} : { target }), tags }));

    expect(problems.map((p) => p.tag)).toContain(tag);
  });

  it('the self-test refuses a value that is not a SAS', async () => {
    const { rotator, harness } = setup(containerUrl('uploads'));

    expect(await rotator.test(harness.context('rot-x'), SecretValue.from('https://example.com/no-sas'))).toMatchObject({ ok: false });
  });
});
