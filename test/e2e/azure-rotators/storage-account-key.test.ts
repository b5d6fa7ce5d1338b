import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
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
  writeManagedSecret,
  type AzureGround,
  type AzureWorld,
  type ManagedSecret,
} from './azure-ground.js';

const DAY = 86_400_000;
let azure: AzureGround;
let accounts = 0;

beforeAll(async () => {
  azure = await startAzureGround();
});

afterAll(async () => {
  await azure.stop();
});

/** A fresh storage account at the stand-in (and in its Azurite, same keys). */
function newAccount(): string {
  accounts += 1;
  const name = `stkey${accounts}${Date.now().toString(36)}`.slice(0, 24);
  azure.standIn.admin.addStorageAccount({ name });
  return name;
}

const keysOf = (account: string) => azure.standIn.admin.storageAccount(account);

/** Does Azurite accept SharedKey requests signed with this key? The real proof that a key works. */
async function authenticates(account: string, key: string): Promise<boolean> {
  try {
    await new BlobServiceClient(azure.standIn.blobEndpoint(account), new StorageSharedKeyCredential(account, key), { retryOptions: { maxTries: 1 } }).getProperties();
    return true;
  } catch {
    return false;
  }
}

/** Tagged the way Microsoft's storage key rotation sample tags a secret, plus Rotor's grace and health probe. */
function sampleTags(account: string, name: string): Record<string, string> {
  return {
    ProviderAddress: azure.standIn.storageAccountId(account),
    CredentialId: 'key1',
    ValidityPeriodDays: '60',
    'rotor-grace': 'PT2M',
    'rotor-health': azure.ground.consumer.healthUrl(name),
    owner: 'payments',
  };
}

async function sampleSecret(account: string, extraTags: Record<string, string> = {}): Promise<ManagedSecret> {
  const name = uniqueName('st-key');
  return writeManagedSecret(azure, name, keysOf(account).key1, { ...sampleTags(account, name), ...extraTags });
}

describe('storage-account-key through the engine (Key Vault emulator, ARM stand-in, Azurite holding the real keys)', () => {
  it('rotates a secret tagged as for Microsoft\'s sample: key2 promoted, CredentialId follows, and the old key authenticates until the next rotation', async () => {
    // Prepare
    const account = newAccount();
    const secret = await sampleSecret(account);
    const key0 = secret.initial;
    const world = await createAzureWorld(azure);
    const startedAt = world.transport.clock.now().getTime();

    // Act: the first rotation, from the near-expiry event
    const first = await rotateThroughEngine(world, secret, 'event');
    const afterFirst = await azure.ground.client.getSecret(secret.ref.name);
    const key0AfterFirst = await authenticates(account, key0);

    // Assess: key2 was regenerated and promoted; key1 (what consumers held) untouched and still accepted
    expect(first.status).toBe('Completed');
    expect(first.rotator).toBe('storage-account-key');
    expect(first.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['begin:succeeded', 'promote:succeeded', 'nudge:succeeded', 'verify:succeeded', 'retire:succeeded']);
    expect(afterFirst.value).toBe(keysOf(account).key2);
    expect(keysOf(account).key1).toBe(key0);
    expect(afterFirst.properties.tags).toEqual({ ...sampleTags(account, secret.ref.name), CredentialId: 'key2', 'rotor-slot': 'key2', 'rotor-rotation': first.id });
    expect(Math.abs(afterFirst.properties.expiresOn!.getTime() - (startedAt + 60 * DAY))).toBeLessThan(5_000);
    expect(key0AfterFirst).toBe(true);
    expect(await authenticates(account, afterFirst.value!)).toBe(true);
    expect((await versionsOf(azure.ground.client, secret.ref.name)).get(secret.version)?.enabled).toBe(false);

    // Act: the second rotation regenerates key1
    const second = await rotateThroughEngine(world, secret);
    const afterSecond = await azure.ground.client.getSecret(secret.ref.name);

    // Assess: the key held before the first rotation is refused now; the first rotation's key still works
    expect(second.status).toBe('Completed');
    expect(afterSecond.value).toBe(keysOf(account).key1);
    expect(afterSecond.properties.tags).toMatchObject({ CredentialId: 'key1', 'rotor-slot': 'key1', ProviderAddress: azure.standIn.storageAccountId(account) });
    expect(await authenticates(account, key0)).toBe(false);
    expect(await authenticates(account, afterFirst.value!)).toBe(true);
    expect(await authenticates(account, afterSecond.value!)).toBe(true);
    expectNoSecretIn(await everythingWritten(world), [key0, afterFirst.value!, afterSecond.value!]);
  });

  it('costs one create and five other Key Vault calls per rotation, counted by the emulator (issue #18: alternating writes no pending version)', async () => {
    // Prepare
    const account = newAccount();
    // No health probe: the test consumer reads the secret from the vault when probed, and those are its calls, not Rotor's.
    const name = uniqueName('st-calls');
    const { 'rotor-health': _probe, ...tags } = sampleTags(account, name);
    const secret = await writeManagedSecret(azure, name, keysOf(account).key1, tags);
    const world = await createAzureWorld(azure);
    const calls = (): Record<string, number> => Object.fromEntries(Object.entries(azure.ground.kv.admin.counters().operations).map(([op, c]) => [op, c.calls]));
    const before = calls();

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess: start, begin, promote and verify read the latest (or promoted) version once each; promote
    // creates the new version (no pending companion, no 404 probe); retire disables the previous one.
    const after = calls();
    const delta = (op: string): number => (after[op] ?? 0) - (before[op] ?? 0);
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire']);
    // rotateThroughEngine reads the latest version once itself before it starts the rotation.
    expect({ set: delta('set'), get: delta('get') - 1, update: delta('update') }).toEqual({ set: 1, get: 4, update: 1 });
  });

  it('revokes the superseded key after rotor-revoke-after: key1 is regenerated, so the old key is refused, and its version disabled', async () => {
    // Prepare
    const account = newAccount();
    const name = uniqueName('st-revoke');
    const secret = await writeManagedSecret(azure, name, keysOf(account).key1, { ...sampleTags(account, name), 'rotor-revoke-after': 'PT1H' });
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire', 'revoke']);
    const latest = await azure.ground.client.getSecret(name);
    expect(latest.value).toBe(keysOf(account).key2);
    expect(keysOf(account).key1).not.toBe(secret.initial);
    expect(await authenticates(account, secret.initial)).toBe(false);
    expect(await authenticates(account, latest.value!)).toBe(true);
    expect((await versionsOf(azure.ground.client, name)).get(secret.version)?.enabled).toBe(false);
    expectNoSecretIn(await everythingWritten(world), [secret.initial, latest.value!, keysOf(account).key1]);
  });

  it('promotes a connection string when rotor-storage-format says so, and its key authenticates', async () => {
    // Prepare
    const account = newAccount();
    const name = uniqueName('st-conn');
    const initial = `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${keysOf(account).key1};EndpointSuffix=core.windows.net`;
    const secret = await writeManagedSecret(
      azure,
      name,
      initial,
      {
        'rotor-rotator': 'storage-account-key',
        'rotor-target': azure.standIn.storageAccountId(account),
        'rotor-storage-format': 'connection-string',
        'rotor-validity': 'P45D',
        'rotor-grace': 'PT5M',
        'rotor-health': azure.ground.consumer.healthUrl(name),
      },
      'application/x-connection-string',
    );
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    const latest = await azure.ground.client.getSecret(name);
    expect(rotation.status).toBe('Completed');
    // Locally the connection string names the Azurite endpoint; in Azure it is `...;EndpointSuffix=core.windows.net`.
    expect(latest.value).toBe(`DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${keysOf(account).key2};BlobEndpoint=${azure.standIn.blobEndpoint(account)}`);
    expect(latest.properties.contentType).toBe('application/x-connection-string');
    expect(latest.properties.tags).toMatchObject({ 'rotor-storage-format': 'connection-string', 'rotor-slot': 'key2' });
    expect(await authenticates(account, keysOf(account).key2)).toBe(true);
    expect(await authenticates(account, keysOf(account).key1)).toBe(true);
    expectNoSecretIn(await everythingWritten(world), [keysOf(account).key1, keysOf(account).key2]);
  });

  it('rolls back when the consumer\'s health endpoint fails after promote: key1 is latest again and still authenticates', async () => {
    // Prepare
    const account = newAccount();
    const secret = await sampleSecret(account);
    azure.ground.consumer.accept(secret.ref.name, (value) => value === secret.initial);
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('503');
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    expect(latest.value).toBe(secret.initial);
    expect(latest.properties.version).toBe(rotation.versions.restored);
    expect(latest.properties.tags).toMatchObject({ CredentialId: 'key1', 'rotor-slot': 'key1', ProviderAddress: azure.standIn.storageAccountId(account), owner: 'payments' });
    const versions = await versionsOf(azure.ground.client, secret.ref.name);
    expect(versions.get(rotation.versions.promoted!)?.enabled).toBe(false);
    expect(keysOf(account).key1).toBe(secret.initial);
    expect(await authenticates(account, secret.initial)).toBe(true);
    expect(world.rotor.notifier.sent.at(-1)).toMatchObject({ type: 'Rotor.Rotation.RolledBack', rotationId: rotation.id });
    expectNoSecretIn(await everythingWritten(world), [secret.initial, keysOf(account).key2]);
  });

  it.each([
    ['completes', false, false],
    ['rolls back', true, false],
    ['completes and revokes the old key after rotor-revoke-after', false, true],
  ])('a rotation that %s ends as a clean run does after a crash at every write (I4)', async (_name, consumerBreaks, revokes) => {
    // Act
    const report = await replayEveryCrash<{ world: AzureWorld; secret: ManagedSecret; account: string }, unknown>({
      createWorld: async (crash) => {
        const account = newAccount();
        const secret = await sampleSecret(account, revokes ? { 'rotor-revoke-after': 'PT1H' } : {});
        if (consumerBreaks) azure.ground.consumer.accept(secret.ref.name, (value) => value === secret.initial);
        return { world: await createAzureWorld(azure, { crash, maxStepAttempts: 2, memoryLedger: true }), secret, account };
      },
      run: async ({ world, secret }) => {
        await rotateThroughEngine(world, secret, 'event');
      },
      snapshot: async ({ world, secret, account }) => {
        const latest = (await azure.ground.client.getSecret(secret.ref.name)).value!;
        expectNoSecretIn(await everythingWritten(world), [secret.initial, latest]);
        const keys = keysOf(account);
        return {
          engine: await engineSnapshot(azure, world, secret),
          latestIs: latest === keys.key1 ? 'key1' : latest === keys.key2 ? 'key2' : 'neither',
          key1Untouched: keys.key1 === secret.initial,
          latestAuthenticates: await authenticates(account, latest),
          initialAuthenticates: await authenticates(account, secret.initial),
        };
      },
    });

    // Assess
    expect(report.writes).toBeGreaterThan(10);
    expect(report.clean).toMatchObject({
      engine: { status: consumerBreaks ? 'RolledBack' : 'Completed' },
      latestIs: consumerBreaks ? 'key1' : 'key2',
      key1Untouched: !revokes,
      latestAuthenticates: true,
      initialAuthenticates: !revokes,
    });
    expect(report.cleanWrites).toContain('rotator(storage-account-key).prepare');
    if (revokes) expect(report.cleanWrites).toContain('rotator(storage-account-key).revoke');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
