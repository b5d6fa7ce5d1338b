import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator } from '../../../emulators/azure-management/index.js';
import { createEventGridTopicKeyRotator, selfTestEventType } from '../../../src/rotators/eventgrid-topic-key/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { createRotationHarness, engineView, expectRotatorError, policyFor } from '../../helpers/rotator-harness.js';

type RegenerateMode = 'sync' | 'location' | 'async-operation';

describe.each<RegenerateMode>(['sync', 'location', 'async-operation'])('eventgrid-topic-key rotator (regenerateKey answers %s)', (mode) => {
  let emulator: AzureManagementEmulator;
  const credential = createFakeCredential();

  beforeAll(async () => {
    emulator = await startAzureManagementEmulator({
      eventGridRegenerate: mode,
      operationPolls: 2,
      eventGridTopics: [{ name: 'erp-events' }, { name: 'erp-cloudevents' }, { name: 'orders', type: 'domains' }],
    });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  const rotatorFor = () =>
    engineView(
      createEventGridTopicKeyRotator({ credential, armEndpoint: emulator.armEndpoint, transport: { tls: { ca: emulator.ca }, retryDelayMs: 5, pollIntervalMs: 0 } }),
    );

  /** Publishing with a key through the real publisher client: the consumer's view of whether a key works. */
  const publishes = async (topic: string, key: string): Promise<boolean> => {
    const client = new EventGridPublisherClient(emulator.topicEndpoint(topic), 'EventGrid', new AzureKeyCredential(key), { tlsOptions: { ca: emulator.ca }, retryOptions: { maxRetries: 0 } });
    try {
      await client.send([{ eventType: 'Erp.Order.Created', subject: 'orders/1', dataVersion: '1.0', data: { id: 1 } }]);
      return true;
    } catch {
      return false;
    }
  };

  it('regenerates the inactive key, self-tests by publishing, and the old key publishes until the next rotation', async () => {
    // Prepare
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'eventgrid-topic-key', target: emulator.eventGridTopicId('erp-events'), tags: { 'rotor-eventgrid-endpoint': emulator.topicEndpoint('erp-events') } });
    const key0 = emulator.admin.eventGridTopic('erp-events').key1;
    const harness = createRotationHarness({ rotator, policy, initial: { value: key0 } });

    // Act: two rotations
    const first = await rotator.prepare(harness.context('rot-1'));
    harness.promote('rot-1', first);
    const firstTest = await rotator.test(harness.context('rot-1'), first.value);
    const key0AfterFirst = await publishes('erp-events', key0);
    const second = await rotator.prepare(harness.context('rot-2'));
    harness.promote('rot-2', second);

    // Assess
    expect([first.slot, second.slot]).toEqual(['key2', 'key1']);
    expect(firstTest).toEqual({ ok: true });
    expect(emulator.admin.publishedEvents.some((e) => JSON.stringify(e.body).includes(selfTestEventType))).toBe(true);
    expect(key0AfterFirst).toBe(true);
    expect(await publishes('erp-events', key0)).toBe(false);
    expect(await publishes('erp-events', first.value.reveal())).toBe(true);
    expect(await rotator.test(harness.context('rot-2'), SecretValue.from(key0))).toMatchObject({ ok: false });
    expectNoSecretIn(harness.logText(), [key0, first.value.reveal(), second.value.reveal()]);
    if (mode !== 'sync') {
      expect(emulator.admin.calls.filter((c) => c.method === 'GET' && c.path.includes('/locations/westeurope/')).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('publishes the self-test as a CloudEvent to a CloudEvents topic', async () => {
    const rotator = rotatorFor();
    const policy = policyFor({
      rotator: 'eventgrid-topic-key',
      target: emulator.eventGridTopicId('erp-cloudevents'),
      tags: { 'rotor-eventgrid-endpoint': emulator.topicEndpoint('erp-cloudevents'), 'rotor-eventgrid-schema': 'CloudEvent' },
    });
    const harness = createRotationHarness({ rotator, policy, initial: { value: emulator.admin.eventGridTopic('erp-cloudevents').key1 } });

    const prepared = await rotator.prepare(harness.context('rot-ce'));
    const result = await rotator.test(harness.context('rot-ce'), prepared.value);

    expect(result).toEqual({ ok: true });
    const event = emulator.admin.publishedEvents.filter((e) => e.topic === 'erp-cloudevents').at(-1)?.body as { type: string; specversion: string }[];
    expect(event[0]).toMatchObject({ type: selfTestEventType, specversion: '1.0' });
  });

  it('checks a domain key by listing keys, and revoke-after regenerates the superseded one once', async () => {
    // Prepare
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'eventgrid-topic-key', target: emulator.eventGridTopicId('orders') });
    const harness = createRotationHarness({ rotator, policy, initial: { value: emulator.admin.eventGridTopic('orders').key1 } });
    const superseded = harness.current;

    // Act
    const prepared = await rotator.prepare(harness.context('rot-d'));
    harness.promote('rot-d', prepared);
    const test = await rotator.test(harness.context('rot-d'), prepared.value);
    await rotator.revoke!(harness.context('rot-d'), superseded);
    await rotator.revoke!(harness.context('rot-d', 2), superseded);

    // Assess
    expect(test).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-d'), superseded.value)).toMatchObject({ ok: false });
    expect(emulator.admin.eventGridTopic('orders').key2).toBe(prepared.value.reveal());
    expect(emulator.admin.calls.filter((c) => c.path.endsWith('/domains/orders/regenerateKey'))).toHaveLength(2);
  });

  it('replays prepare after a lost regenerateKey answer, keeping the key in use', async () => {
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'eventgrid-topic-key', target: emulator.eventGridTopicId('erp-events') });
    const active = emulator.admin.eventGridTopic('erp-events').key2;
    const harness = createRotationHarness({ rotator, policy, initial: { value: active } });
    emulator.admin.inject({ kind: 'drop', pathIncludes: '/topics/erp-events/regenerateKey' });

    const lost = await expectRotatorError(rotator.prepare(harness.context('rot-r', 1)));
    const replay = await rotator.prepare(harness.context('rot-r', 2));

    expect(lost).toMatchObject({ transient: true });
    expect(replay.slot).toBe('key1');
    expect(emulator.admin.eventGridTopic('erp-events').key2).toBe(active);
    expect(await publishes('erp-events', active)).toBe(true);
  });
});

describe('eventgrid-topic-key policy', () => {
  const rotator = engineView(createEventGridTopicKeyRotator({ credential: createFakeCredential() }));
  const topicId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.EventGrid/topics/erp-events';
  const domainId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.EventGrid/domains/orders';

  it.each<{ case: string; target?: string; tags: Record<string, string>; tag: string }>([
    { case: 'no target', tags: {}, tag: 'rotor-target' },
    { case: 'a storage account id', target: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stok', tags: {}, tag: 'rotor-target' },
    { case: 'an endpoint that is not a URL', target: topicId, tags: { 'rotor-eventgrid-endpoint': 'erp-events' }, tag: 'rotor-eventgrid-endpoint' },
    { case: 'an unknown schema', target: topicId, tags: { 'rotor-eventgrid-schema': 'Custom' }, tag: 'rotor-eventgrid-schema' },
    { case: 'an endpoint on a domain', target: domainId, tags: { 'rotor-eventgrid-endpoint': 'https://orders.westeurope-1.eventgrid.azure.net/api/events' }, tag: 'rotor-eventgrid-endpoint' },
  ])('names the tag for $case', ({ target, tags, tag }) => {
    const problems = rotator.validate(policyFor({ rotator: 'eventgrid-topic-key', ...(target === undefined ? {} : { target }), tags }));

    expect(problems.map((p) => p.tag)).toContain(tag);
  });

  it('accepts a topic with an endpoint', () => {
    expect(rotator.validate(policyFor({ rotator: 'eventgrid-topic-key', target: topicId, tags: { 'rotor-eventgrid-endpoint': 'https://erp-events.westeurope-1.eventgrid.azure.net/api/events' } }))).toEqual([]);
  });
});
