import { AnonymousCredential, BlobServiceClient, ContainerClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayEveryCrash, expectCrashPropagated } from '../../helpers/crash-replay.js';
import { versionsOf } from '../../helpers/e2e-stack.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import {
  createAzureWorld,
  engineSnapshot,
  everythingWritten,
  rotateThroughEngine,
  startAzureGround,
  uniqueName,
  type AzureGround,
  type AzureWorld,
  type ManagedSecret,
  writeManagedSecret,
} from './azure-ground.js';

const account = 'stvaletkeye2e';
const keySecretName = 'st-valet-e2e-account-key';
let azure: AzureGround;
let service: BlobServiceClient;
let containers = 0;

beforeAll(async () => {
  azure = await startAzureGround({ storageAccounts: [{ name: account }] });
  const key = azure.standIn.admin.storageAccount(account).key1;
  service = new BlobServiceClient(azure.standIn.blobEndpoint(account), new StorageSharedKeyCredential(account, key));
  // The account key the SAS is signed with, kept in the same vault (as a storage-account-key rotator would keep it).
  await azure.ground.client.setSecret(keySecretName, `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};BlobEndpoint=${azure.standIn.blobEndpoint(account)};`);
});

afterAll(async () => {
  await azure.stop();
});

/** Can the holder of this SAS URL list the container? Asked of Azurite with no other credential. */
async function lists(sasUrl: string): Promise<boolean> {
  try {
    await new ContainerClient(sasUrl, new AnonymousCredential(), { retryOptions: { maxTries: 1 } }).listBlobsFlat().byPage({ maxPageSize: 1 }).next();
    return true;
  } catch {
    return false;
  }
}

const policyIds = async (container: string): Promise<string[]> =>
  (await service.getContainerClient(container).getAccessPolicy()).signedIdentifiers.map((p) => p.id).sort();

const siOf = (sasUrl: string): string | null => new URL(sasUrl).searchParams.get('si');

/**
 * A container with a blob, and the secret handing its SAS URL to a client:
 * first a SAS its owner made by hand (no stored policy, one day), tagged for Rotor.
 */
async function valetSecret(options: { readonly revokeAfter?: string } = {}): Promise<{ container: string; secret: ManagedSecret }> {
  containers += 1;
  const container = `uploads-${containers}-${Date.now().toString(36)}`;
  await service.getContainerClient(container).create();
  await service.getContainerClient(container).getBlockBlobClient('invoice.pdf').upload('%PDF-1.7', 8);
  const url = `${azure.standIn.blobEndpoint(account)}/${container}`;
  const expiresOn = new Date(Date.now() + 86_400_000);
  // With revoke-after, the hand-made SAS is bound to a stored access policy, so revoke has one to remove.
  if (options.revokeAfter !== undefined) {
    await service.getContainerClient(container).setAccessPolicy(undefined, [{ id: 'hand-made', accessPolicy: { permissions: 'rl', expiresOn } }]);
  }
  const handMade = generateBlobSASQueryParameters(
    options.revokeAfter === undefined
      ? { containerName: container, permissions: ContainerSASPermissions.parse('rl'), expiresOn }
      : { containerName: container, identifier: 'hand-made' },
    new StorageSharedKeyCredential(account, azure.standIn.admin.storageAccount(account).key1),
  ).toString();
  const name = uniqueName('valet');
  const secret = await writeManagedSecret(azure, name, `${url}?${handMade}`, {
    'rotor-rotator': 'storage-sas',
    'rotor-target': url,
    'rotor-sas-permissions': 'rl',
    'rotor-sas-key-secret': keySecretName,
    'rotor-validity': 'P35D',
    'rotor-grace': 'PT1M',
    'rotor-health': azure.ground.consumer.healthUrl(name),
    consumer: 'supplier-portal',
    ...(options.revokeAfter === undefined ? {} : { 'rotor-revoke-after': options.revokeAfter }),
  });
  return { container, secret };
}

describe('storage-sas through the engine (Key Vault emulator, real Azurite, stored access policies)', () => {
  it('rotates to SAS URLs bound to stored policies; the previous SAS works until the next rotation prunes its policy', async () => {
    // Prepare
    const { container, secret } = await valetSecret();
    const world = await createAzureWorld(azure);

    // Act: three rotations
    const first = await rotateThroughEngine(world, secret, 'event');
    const sas1 = (await azure.ground.client.getSecret(secret.ref.name)).value!;
    const second = await rotateThroughEngine(world, secret);
    const afterSecond = await azure.ground.client.getSecret(secret.ref.name);
    const sas2 = afterSecond.value!;
    const sas1AfterSecond = await lists(sas1);
    const policiesAfterSecond = await policyIds(container);
    const third = await rotateThroughEngine(world, secret);
    const sas3 = (await azure.ground.client.getSecret(secret.ref.name)).value!;

    // Assess
    expect([first.status, second.status, third.status]).toEqual(['Completed', 'Completed', 'Completed']);
    expect(sas1.startsWith(`${azure.standIn.blobEndpoint(account)}/${container}?`)).toBe(true);
    expect(siOf(sas1)).toBe(first.slots?.next);
    expect(afterSecond.properties.tags).toEqual({
      'rotor-rotator': 'storage-sas',
      'rotor-target': `${azure.standIn.blobEndpoint(account)}/${container}`,
      'rotor-sas-permissions': 'rl',
      'rotor-sas-key-secret': keySecretName,
      'rotor-validity': 'P35D',
      'rotor-grace': 'PT1M',
      'rotor-health': azure.ground.consumer.healthUrl(secret.ref.name),
      consumer: 'supplier-portal',
      'rotor-rotation': second.id,
      'rotor-slot': siOf(sas2),
    });
    expect(sas1AfterSecond).toBe(true);
    expect(policiesAfterSecond).toEqual([siOf(sas1), siOf(sas2)].sort());
    expect(await lists(sas1)).toBe(false);
    expect(await lists(sas2)).toBe(true);
    expect(await lists(sas3)).toBe(true);
    expect(await policyIds(container)).toEqual([siOf(sas2), siOf(sas3)].sort());
    const versions = await versionsOf(azure.ground.client, secret.ref.name);
    expect([...versions.values()].filter((v) => v.enabled)).toHaveLength(1);
    expectNoSecretIn(await everythingWritten(world), [secret.initial, sas1, sas2, sas3, azure.standIn.admin.storageAccount(account).key1]);
  });

  it('rolls back when the consumer fails after promote: the previous SAS is latest again and lists, this rotation\'s policy is gone', async () => {
    // Prepare: one good rotation, then a consumer that only works with what it has
    const { container, secret } = await valetSecret();
    const world = await createAzureWorld(azure);
    await rotateThroughEngine(world, secret);
    const good = (await azure.ground.client.getSecret(secret.ref.name)).value!;
    azure.ground.consumer.accept(secret.ref.name, (value) => value === good);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('503');
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    expect(latest.value).toBe(good);
    expect(latest.properties.tags).toMatchObject({ 'rotor-slot': siOf(good), 'rotor-rotation': rotation.id });
    expect(await lists(good)).toBe(true);
    expect(await policyIds(container)).toEqual([siOf(good)]);
    expectNoSecretIn(await everythingWritten(world), [secret.initial, good]);
  });

  it.each([
    ['completes', false, false],
    ['rolls back', true, false],
    ['completes and revokes the hand-made SAS\'s policy after rotor-revoke-after', false, true],
  ])('a rotation that %s ends as a clean run does after a crash at every write (I4)', async (_name, consumerBreaks, revokes) => {
    // Act
    const report = await replayEveryCrash<{ world: AzureWorld; container: string; secret: ManagedSecret }, unknown>({
      createWorld: async (crash) => {
        const { container, secret } = await valetSecret(revokes ? { revokeAfter: 'PT1H' } : {});
        if (consumerBreaks) azure.ground.consumer.accept(secret.ref.name, (value) => value === secret.initial);
        return { world: await createAzureWorld(azure, { crash, maxStepAttempts: 2, memoryLedger: true }), container, secret };
      },
      run: async ({ world, secret }) => {
        await rotateThroughEngine(world, secret, 'event');
      },
      snapshot: async ({ world, container, secret }) => {
        const latest = (await azure.ground.client.getSecret(secret.ref.name)).value!;
        expectNoSecretIn(await everythingWritten(world), [secret.initial, latest]);
        const policies = await policyIds(container);
        return {
          engine: await engineSnapshot(azure, world, secret),
          policies: policies.length,
          latestBoundTo: siOf(latest) === null ? 'no policy' : policies.includes(siOf(latest)!) ? 'a policy of the container' : 'a missing policy',
          latestLists: await lists(latest),
          initialLists: await lists(secret.initial),
        };
      },
    });

    // Assess
    expect(report.writes).toBeGreaterThan(10);
    expect(report.clean).toMatchObject({
      engine: { status: consumerBreaks ? 'RolledBack' : 'Completed' },
      policies: consumerBreaks ? 0 : 1,
      latestBoundTo: consumerBreaks ? 'no policy' : 'a policy of the container',
      latestLists: true,
      initialLists: !revokes,
    });
    if (revokes) expect(report.cleanWrites).toContain('rotator(storage-sas).revoke');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
