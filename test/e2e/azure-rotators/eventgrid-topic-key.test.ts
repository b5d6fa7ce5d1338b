import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selfTestEventType } from '../../../src/rotators/eventgrid-topic-key/index.js';
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

let azure: AzureGround;
let topics = 0;

beforeAll(async () => {
  // regenerateKey answers 202 + Location, polled once: the long-running path, as ARM does it.
  azure = await startAzureGround({ eventGridRegenerate: 'location' });
});

afterAll(async () => {
  await azure.stop();
});

afterEach(() => {
  azure.standIn.admin.clearFaults();
});

function newTopic(): string {
  topics += 1;
  const name = `erp-events-${topics}-${Date.now().toString(36)}`;
  azure.standIn.admin.addEventGridTopic({ name });
  return name;
}

const keysOf = (topic: string) => azure.standIn.admin.eventGridTopic(topic);

/** Does the topic accept a publish with this key? What the ERP system does. */
async function publishes(topic: string, key: string): Promise<boolean> {
  const client = new EventGridPublisherClient(azure.standIn.topicEndpoint(topic), 'EventGrid', new AzureKeyCredential(key), {
    tlsOptions: { ca: azure.standIn.ca },
    retryOptions: { maxRetries: 0 },
  });
  try {
    await client.send([{ eventType: 'Erp.Order.Created', subject: 'orders/1', dataVersion: '1.0', data: { id: 1 } }]);
    return true;
  } catch {
    return false;
  }
}

/** Microsoft's sample tags (ProviderAddress names the rotator), plus the publish endpoint for the self-test. */
function sampleTags(topic: string, name: string): Record<string, string> {
  return {
    ProviderAddress: azure.standIn.eventGridTopicId(topic),
    CredentialId: 'key1',
    ValidityPeriodDays: '90',
    'rotor-eventgrid-endpoint': azure.standIn.topicEndpoint(topic),
    'rotor-grace': 'PT5M',
    'rotor-health': azure.ground.consumer.healthUrl(name),
  };
}

async function topicSecret(topic: string, extraTags: Record<string, string> = {}): Promise<ManagedSecret> {
  const name = uniqueName('eg-key');
  return writeManagedSecret(azure, name, keysOf(topic).key1, { ...sampleTags(topic, name), ...extraTags });
}

describe('eventgrid-topic-key through the engine (Key Vault emulator, ARM stand-in with a long-running regenerateKey, topic endpoint)', () => {
  it('rotates with the sample tags: key2 promoted after a self-test publish with it; the old key publishes until the next rotation', async () => {
    // Prepare
    const topic = newTopic();
    const secret = await topicSecret(topic);
    const key0 = secret.initial;
    const world = await createAzureWorld(azure);

    // Act
    const first = await rotateThroughEngine(world, secret, 'event');
    const afterFirst = await azure.ground.client.getSecret(secret.ref.name);
    const key0AfterFirst = await publishes(topic, key0);
    const second = await rotateThroughEngine(world, secret);
    const afterSecond = await azure.ground.client.getSecret(secret.ref.name);

    // Assess
    expect([first.status, second.status]).toEqual(['Completed', 'Completed']);
    expect(first.rotator).toBe('eventgrid-topic-key');
    expect(afterFirst.value).not.toBe(key0);
    expect(afterFirst.properties.tags).toEqual({ ...sampleTags(topic, secret.ref.name), CredentialId: 'key2', 'rotor-slot': 'key2', 'rotor-rotation': first.id });
    expect(key0AfterFirst).toBe(true);
    const selfTests = azure.standIn.admin.publishedEvents.filter((e) => e.topic.toLowerCase() === topic.toLowerCase() && JSON.stringify(e.body).includes(selfTestEventType));
    expect(selfTests.length).toBeGreaterThanOrEqual(2);
    expect(afterSecond.value).toBe(keysOf(topic).key1);
    expect(afterSecond.properties.tags).toMatchObject({ CredentialId: 'key1', 'rotor-slot': 'key1' });
    expect(await publishes(topic, key0)).toBe(false);
    expect(await publishes(topic, afterFirst.value!)).toBe(true);
    expect(await publishes(topic, afterSecond.value!)).toBe(true);
    expect(azure.standIn.admin.calls.some((c) => c.path.includes('/operationResults/') || c.path.includes('/operationsStatus/'))).toBe(true);
    expectNoSecretIn(await everythingWritten(world), [key0, afterFirst.value!, afterSecond.value!]);
  });

  it('rolls back when the self-test publish with the new key is refused: key1 is latest again and publishes', async () => {
    // Prepare: every publish is refused for a while, as if the new key had not reached the data plane
    const topic = newTopic();
    const secret = await topicSecret(topic);
    const world = await createAzureWorld(azure);
    azure.standIn.admin.inject({ kind: 'fail', status: 401, method: 'POST', pathIncludes: '/api/events', times: 20 });

    // Act
    const rotation = await rotateThroughEngine(world, secret);
    azure.standIn.admin.clearFaults();

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('refused a publish with this key (401)');
    expect(rotation.steps.filter((s) => s.step === 'verify').every((s) => s.outcome !== 'succeeded')).toBe(true);
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    expect(latest.value).toBe(secret.initial);
    expect(latest.properties.tags).toMatchObject({ CredentialId: 'key1', 'rotor-slot': 'key1', ProviderAddress: azure.standIn.eventGridTopicId(topic) });
    expect((await versionsOf(azure.ground.client, secret.ref.name)).get(rotation.versions.promoted!)?.enabled).toBe(false);
    expect(await publishes(topic, secret.initial)).toBe(true);
    expectNoSecretIn(await everythingWritten(world), [secret.initial, keysOf(topic).key2]);
  });

  it.each([
    ['completes', false, false],
    ['rolls back', true, false],
    ['completes and revokes the old key after rotor-revoke-after', false, true],
  ])('a rotation that %s ends as a clean run does after a crash at every write (I4)', async (_name, consumerBreaks, revokes) => {
    // Act
    const report = await replayEveryCrash<{ world: AzureWorld; topic: string; secret: ManagedSecret }, unknown>({
      createWorld: async (crash) => {
        const topic = newTopic();
        const secret = await topicSecret(topic, revokes ? { 'rotor-revoke-after': 'PT1H' } : {});
        if (consumerBreaks) azure.ground.consumer.accept(secret.ref.name, (value) => value === secret.initial);
        return { world: await createAzureWorld(azure, { crash, maxStepAttempts: 2, memoryLedger: true }), topic, secret };
      },
      run: async ({ world, secret }) => {
        await rotateThroughEngine(world, secret, 'event');
      },
      snapshot: async ({ world, topic, secret }) => {
        const latest = (await azure.ground.client.getSecret(secret.ref.name)).value!;
        expectNoSecretIn(await everythingWritten(world), [secret.initial, latest]);
        const keys = keysOf(topic);
        return {
          engine: await engineSnapshot(azure, world, secret),
          latestIs: latest === keys.key1 ? 'key1' : latest === keys.key2 ? 'key2' : 'neither',
          key1Untouched: keys.key1 === secret.initial,
          initialPublishes: await publishes(topic, secret.initial),
        };
      },
    });

    // Assess
    expect(report.writes).toBeGreaterThan(10);
    expect(report.clean).toMatchObject({
      engine: { status: consumerBreaks ? 'RolledBack' : 'Completed' },
      latestIs: consumerBreaks ? 'key1' : 'key2',
      key1Untouched: !revokes,
      initialPublishes: !revokes,
    });
    if (revokes) expect(report.cleanWrites).toContain('rotator(eventgrid-topic-key).revoke');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
