import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventGridDeserializer } from '@azure/eventgrid';
import { isEventGridEmulatorError, startEventGridEmulator, type EventGridEmulator, type KeyVaultSystemEvent, type SubscriptionOptions } from '../../../emulators/eventgrid/index.js';
import expiredJson from '../../fixtures/eventgrid-emulator/keyvault-secret-expired.json' with { type: 'json' };
import nearExpiryJson from '../../fixtures/eventgrid-emulator/keyvault-secret-near-expiry.json' with { type: 'json' };
import newVersionJson from '../../fixtures/eventgrid-emulator/keyvault-secret-new-version.json' with { type: 'json' };
import { parseJson, startWebhookReceiver, validatingResponder, type WebhookReceiver } from './webhook-receiver.js';

const nearExpiry = nearExpiryJson as KeyVaultSystemEvent;
const expired = expiredJson as KeyVaultSystemEvent;
const newVersion = newVersionJson as KeyVaultSystemEvent;
const deserializer = new EventGridDeserializer();

describe('Event Grid emulator: system topic delivery (Key Vault → webhook)', () => {
  let eventGrid: EventGridEmulator;
  const receivers: WebhookReceiver[] = [];
  let counter = 0;

  /** A fresh emulator-wide subscription on its own receiver, so tests do not see each other's events. */
  async function subscribed(options: Omit<SubscriptionOptions, 'name' | 'endpointUrl'> = {}): Promise<{ name: string; webhook: WebhookReceiver }> {
    const webhook = await startWebhookReceiver(validatingResponder(200));
    receivers.push(webhook);
    counter += 1;
    const name = `kv-intake-${counter}`;
    await eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url, ...options });
    return { name, webhook };
  }

  async function publishAndSettle(events: KeyVaultSystemEvent[]): Promise<void> {
    eventGrid.publish(events);
    await eventGrid.admin.waitForIdle();
  }

  beforeAll(async () => {
    eventGrid = await startEventGridEmulator({ retryTimeScale: 0.001 });
  });

  // Every subscription sees every system event: each test starts with none, and none of its retries outlive it.
  afterEach(() => {
    for (const subscription of eventGrid.admin.listSubscriptions()) eventGrid.admin.deleteSubscription(subscription.name);
  });

  afterAll(async () => {
    await eventGrid.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers a Key Vault event in the Event Grid schema with the service headers and PascalCase data untouched', async () => {
    // Prepare
    const { name, webhook } = await subscribed();

    // Act
    await publishAndSettle([nearExpiry]);

    // Assess
    const [delivery] = webhook.notifications();
    expect(webhook.notifications()).toHaveLength(1);
    expect(delivery?.headers).toMatchObject({
      'aeg-event-type': 'Notification',
      'aeg-subscription-name': name.toUpperCase(),
      'aeg-delivery-count': '0',
      'aeg-data-version': '1',
      'aeg-metadata-version': '1',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(parseJson(delivery!)).toEqual([nearExpiry]);
    const [event] = await deserializer.deserializeEventGridEvents(delivery!.body);
    expect(event).toMatchObject({ id: nearExpiry.id, eventType: 'Microsoft.KeyVault.SecretNearExpiry', subject: 'db-password', topic: nearExpiry.topic });
    expect(event?.data).toEqual(nearExpiry.data);
    expect(Object.keys(event?.data as object)).toEqual(['Id', 'VaultName', 'ObjectType', 'ObjectName', 'Version', 'NBF', 'EXP']);
  });

  it('converts to a single CloudEvents 1.0 object for a CloudEvents subscription', async () => {
    // Prepare
    const { webhook } = await subscribed({ eventDeliverySchema: 'CloudEventSchemaV1_0' });

    // Act
    await publishAndSettle([expired]);

    // Assess
    const [delivery] = webhook.notifications();
    expect(delivery?.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(delivery?.headers['aeg-metadata-version']).toBe('1.0');
    expect(delivery?.headers['webhook-request-origin']).toBe('eventgrid.azure.net');
    expect(parseJson(delivery!)).toEqual({
      specversion: '1.0',
      id: expired.id,
      source: expired.topic,
      type: 'Microsoft.KeyVault.SecretExpired',
      subject: 'api-token',
      time: expired.eventTime,
      data: expired.data,
    });
    const [event] = await deserializer.deserializeCloudEvents(delivery!.body);
    expect(event).toMatchObject({ id: expired.id, source: expired.topic, type: expired.eventType, subject: 'api-token' });
    expect(event?.data).toEqual({ ...expired.data });
  });

  it('batches CloudEvents as application/cloudevents-batch+json when the subscription enables batching', async () => {
    // Prepare
    const { webhook } = await subscribed({ eventDeliverySchema: 'CloudEventSchemaV1_0', maxEventsPerBatch: 2 });

    // Act
    await publishAndSettle([nearExpiry, expired, newVersion]);

    // Assess
    const batches = webhook.notifications();
    expect(batches.map((b) => b.headers['content-type'])).toEqual([
      'application/cloudevents-batch+json; charset=utf-8',
      'application/cloudevents-batch+json; charset=utf-8',
    ]);
    const ids = (await Promise.all(batches.map((b) => deserializer.deserializeCloudEvents(b.body)))).map((events) => events.map((e) => e.id));
    expect(ids.flat().sort()).toEqual([nearExpiry.id, expired.id, newVersion.id].sort());
    expect(ids.map((batch) => batch.length).sort()).toEqual([1, 2]);
  });

  it('sends one event per request by default, each as a one-element array', async () => {
    // Prepare
    const { webhook } = await subscribed();

    // Act
    await publishAndSettle([nearExpiry, expired]);

    // Assess
    const bodies = webhook.notifications().map(parseJson);
    expect(bodies.map((b) => b.length)).toEqual([1, 1]);
    expect(bodies.map((b) => b[0].id).sort()).toEqual([nearExpiry.id, expired.id].sort());
  });

  it.each<[string, SubscriptionOptions['filter'], string[]]>([
    ['no filter', undefined, [nearExpiry.id, expired.id, newVersion.id]],
    ['Rotor’s intake types', { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'] }, [nearExpiry.id, expired.id]],
    ['a type in other letter case', { includedEventTypes: ['microsoft.keyvault.secretexpired'] }, [expired.id]],
    ['subject begins with', { subjectBeginsWith: 'db-' }, [nearExpiry.id, newVersion.id]],
    ['subject ends with, case-insensitive', { subjectEndsWith: '-TOKEN' }, [expired.id]],
    ['subject ends with, case-sensitive', { subjectEndsWith: '-TOKEN', isSubjectCaseSensitive: true }, []],
    ['type and subject together', { includedEventTypes: ['Microsoft.KeyVault.SecretNewVersionCreated'], subjectBeginsWith: 'db' }, [newVersion.id]],
  ])('filters with %s', async (_case, filter, expectedIds) => {
    // Prepare
    const { name, webhook } = await subscribed(filter === undefined ? {} : { filter });

    // Act
    await publishAndSettle([nearExpiry, expired, newVersion]);

    // Assess
    const delivered = webhook.notifications().map((r) => parseJson(r)[0].id);
    expect(delivered.sort()).toEqual([...expectedIds].sort());
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ matched: expectedIds.length, delivered: expectedIds.length });
  });

  it('takes events one at a time through systemTopicSink, the Key Vault emulator’s sink', async () => {
    // Prepare
    const { webhook } = await subscribed();

    // Act
    eventGrid.systemTopicSink(newVersion);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(webhook.notifications().map((r) => parseJson(r)[0])).toEqual([newVersion]);
    expect(eventGrid.admin.published({ topic: eventGrid.systemTopicName }).some((r) => r.event.id === newVersion.id)).toBe(true);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no topic', { topic: undefined }, '[0].topic'],
    ['no eventType', { eventType: undefined }, '[0].eventType'],
    ['a bad eventTime', { eventTime: 'yesterday' }, '[0].eventTime'],
    ['metadataVersion 2', { metadataVersion: '2' }, '[0].metadataVersion'],
    ['no data', { data: undefined }, '[0].data'],
  ])('refuses a system event with %s, naming the field', (_case, override, field) => {
    // Prepare
    const bad = { ...nearExpiry, ...override };

    // Act
    let error: unknown;
    try {
      eventGrid.publish([bad]);
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(isEventGridEmulatorError(error) && error.code).toBe('InvalidEvent');
    expect(isEventGridEmulatorError(error) && error.problems.map((p) => p.field)).toContain(field);
  });
});
