import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator } from '../../../emulators/azure-management/index.js';
import { createEmulatorSecretClient } from '../../../emulators/keyvault/index.js';
import { createRotationStepsHandler } from '../../../functions/rotationSteps.js';
import { createConsumerGatewayFromOptions } from '../../../src/consumers/gateway.js';
import { createBlobConsumerRegistry } from '../../../src/consumers/registry.js';
import { keyVaultResolver } from '../../../src/local/consumer-apps/key-vault-resolver.js';
import { startDemoHttpsConsumer, type DemoHttpsConsumer, type HttpsConsumerMode } from '../../../src/local/consumer-apps/https-consumer.js';
import type { Rotation } from '../../../src/rotation/model.js';
import type { StartRotationResult } from '../../../src/rotation/start-types.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createE2ERotor, startE2EGround, versionsOf, type E2EGround, type E2ERotor } from '../../helpers/e2e-stack.js';
import { startServiceBusTransport, type StepTransport } from '../../helpers/e2e-transport.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

const signingKey = SecretValue.from('e2e-consumer-signing-key-0123');
let ground: E2EGround;
let arm: AzureManagementEmulator;
let https: DemoHttpsConsumer;
let transport: StepTransport;
let rotor: E2ERotor;
let counter = 0;

beforeAll(async () => {
  ground = await startE2EGround();
  arm = await startAzureManagementEmulator({
    keyVault: { url: ground.kv.url, name: ground.kv.vaultName, resolve: keyVaultResolver(createEmulatorSecretClient(ground.kv, { role: 'user' })) },
    referenceRefreshDelayMs: 200,
  });
  https = await startDemoHttpsConsumer({ client: createEmulatorSecretClient(ground.kv, { role: 'user' }), signingKey });
  transport = await startServiceBusTransport();
  const container = ground.azurite.client().getContainerClient('consumers-e2e');
  await container.createIfNotExists();
  rotor = await createE2ERotor(ground, {
    stepQueue: transport.stepQueue,
    clock: transport.clock,
    consumers: {
      gateway: createConsumerGatewayFromOptions({ credential: createFakeCredential, armEndpoint: arm.armEndpoint, ca: arm.ca, signingKey, timeoutMs: 1_000, arm: { maxRetries: 0 } }),
      registry: createBlobConsumerRegistry({ container }),
    },
  });
});

afterAll(async () => {
  await transport?.stop();
  await https?.stop();
  await arm?.stop();
  await ground?.stop();
});

const handler = (): ((body: unknown) => Promise<unknown>) => {
  const handle = createRotationStepsHandler(() => Promise.resolve(rotor.engine));
  const context = new InvocationContext({ functionName: 'rotationSteps', logHandler: () => undefined });
  return (body) => handle(body, context);
};

async function managedSecret(tags: Record<string, string>): Promise<{ name: string; ref: { vaultUrl: string; name: string }; version: string; initial: string }> {
  counter += 1;
  const name = `consumers-${counter}-${Date.now().toString(36)}`;
  const initial = `initial-${name}-0123456789`;
  const written = await ground.client.setSecret(name, initial, {
    tags: { 'rotor-rotator': 'random', 'rotor-validity': 'P60D', 'rotor-grace': 'PT1H', 'rotor-health': ground.consumer.healthUrl(name), ...tags },
    contentType: 'text/plain',
  });
  return { name, ref: { vaultUrl: ground.vaultUrl, name }, version: written.properties.version ?? '', initial };
}

async function rotate(ref: { vaultUrl: string; name: string }): Promise<{ rotation: Rotation; tookMs: number }> {
  const started = Date.now();
  const start: StartRotationResult = await rotor.engine.startRotation(ref, { kind: 'manual', reason: 'consumers e2e' });
  const id = (start as { rotationId: string }).rotationId;
  await transport.deliverAll(handler(), {
    until: async () => {
      const r = await rotor.ledger.getRotation(id);
      return r !== undefined && ['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped'].includes(r.value.status);
    },
  });
  const record = await rotor.ledger.getRotation(id);
  return { rotation: record!.value, tookMs: Date.now() - started };
}

async function httpsConsumer(secret: string, mode: HttpsConsumerMode): Promise<string> {
  counter += 1;
  return https.addConsumer(`c${counter}`, secret, mode);
}

async function everythingWritten(): Promise<string[]> {
  return [...rotor.logs.map((r) => JSON.stringify(r)), ...(await rotor.ledgerBlobs()), ...transport.bodies(), ...rotor.notifier.sent.map((n) => JSON.stringify(n))];
}

describe('consumers move with the secret (Key Vault emulator, Azurite, Service Bus emulator, ARM stand-in, real time)', () => {
  it('completes well before a one-hour grace once an https consumer adopts on the nudge', async () => {
    // Prepare: the consumer must exist before the tag names it (it reads the secret at start-up)
    const secret = await managedSecret({});
    const url = await httpsConsumer(secret.name, 'adopt');
    await ground.client.updateSecretProperties(secret.name, secret.version, { tags: { ...(await ground.client.getSecret(secret.name)).properties.tags, 'rotor-consumers': url } });

    // Act
    const { rotation, tookMs } = await rotate(secret.ref);

    // Assess
    expect(rotation.status).toBe('Completed');
    expect(tookMs).toBeLessThan(10 * 60_000);
    expect(rotation.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['promote', 'nudge', 'verify', 'retire']));
    expect(rotation.adoption?.consumers).toEqual([
      expect.objectContaining({ entry: url, kind: 'https', state: 'adopted', version: rotation.versions.promoted, nudge: 'CloudEvent accepted (202)', nudgedAt: expect.any(String), adoptedAt: expect.any(String) }),
    ]);
    const completed = rotor.notifier.sent.find((n) => n.rotationId === rotation.id && n.type === 'Rotor.Rotation.Completed');
    expect(completed?.consumers?.[0]).toMatchObject({ entry: url, state: 'adopted' });
    const latest = await ground.client.getSecret(secret.name);
    expect(https.consumer(url.split('/').pop()!).version).toBe(latest.properties.version);
    expectNoSecretIn(await everythingWritten(), [secret.initial, latest.value!]);
  });

  it('rolls back, naming the consumer and what it reported, when a consumer ignores the nudge; the old value is latest again and nothing is retired', async () => {
    // Prepare
    const secret = await managedSecret({ 'rotor-adoption-timeout': 'PT5S' });
    const url = await httpsConsumer(secret.name, 'ignore');
    await ground.client.updateSecretProperties(secret.name, secret.version, { tags: { ...(await ground.client.getSecret(secret.name)).properties.tags, 'rotor-consumers': url } });

    // Act
    const { rotation } = await rotate(secret.ref);

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('ConsumerNotAdopted');
    expect(rotation.reason).toContain(url);
    expect(rotation.reason).toContain(`still uses version ${secret.version}`);
    expect(rotation.steps.map((s) => s.step)).not.toContain('retire');
    expect(rotation.steps.filter((s) => s.step === 'verify' && s.outcome === 'waiting').length).toBeGreaterThan(0);
    const latest = await ground.client.getSecret(secret.name);
    expect(latest.value).toBe(secret.initial);
    expect(latest.properties.version).toBe(rotation.versions.restored);
    expect((await versionsOf(ground.client, secret.name)).get(secret.version)?.enabled).toBe(true);
    expect(rotation.adoption?.consumers[0]).toMatchObject({ state: 'behind', version: secret.version, returnedAt: expect.any(String) });
    expect(https.consumer(url.split('/').pop()!).nudges).toBe(2);
  });

  it('completes with an App Service consumer through the ARM stand-in, its adoption recorded', async () => {
    // Prepare
    const secret = await managedSecret({});
    await arm.admin.addWebSite({ name: `app-${secret.name}`, references: [{ setting: 'DB_PASSWORD', secretName: secret.name }] });
    const entry = `appservice:${arm.webSiteId(`app-${secret.name}`)}`;
    await ground.client.updateSecretProperties(secret.name, secret.version, { tags: { ...(await ground.client.getSecret(secret.name)).properties.tags, 'rotor-consumers': entry } });

    // Act
    const { rotation } = await rotate(secret.ref);

    // Assess
    expect(rotation.status).toBe('Completed');
    expect(rotation.adoption?.consumers).toEqual([
      expect.objectContaining({ entry, kind: 'appservice', state: 'adopted', version: rotation.versions.promoted, report: `1 reference(s) resolved to ${rotation.versions.promoted}` }),
    ]);
    expect(arm.admin.webSite(`app-${secret.name}`).refreshes).toBe(1);
  });

  it.each([
    { mode: 'garbage' as const, says: 'answered the adoption query with something other than JSON' },
    { mode: 'silent' as const, says: 'no answer to the adoption query within 1000 ms' },
  ])('rolls back with a clear reason when a consumer answers $mode', async ({ mode, says }) => {
    const secret = await managedSecret({ 'rotor-adoption-timeout': 'PT5S' });
    const url = await httpsConsumer(secret.name, mode);
    await ground.client.updateSecretProperties(secret.name, secret.version, { tags: { ...(await ground.client.getSecret(secret.name)).properties.tags, 'rotor-consumers': url } });

    const { rotation } = await rotate(secret.ref);

    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain(url);
    expect(rotation.reason).toContain(says);
    expect((await ground.client.getSecret(secret.name)).value).toBe(secret.initial);
  });

  it('takes consumers from the registry too', async () => {
    const secret = await managedSecret({});
    const url = await httpsConsumer(secret.name, 'adopt');
    await createBlobConsumerRegistry({ container: ground.azurite.client().getContainerClient('consumers-e2e') }).put(secret.ref, [{ kind: 'https', url }]);

    const { rotation } = await rotate(secret.ref);

    expect(rotation.status).toBe('Completed');
    expect(rotation.adoption?.consumers.map((c) => c.entry)).toEqual([url]);
  });
});
