import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RestError } from '@azure/core-rest-pipeline';
import {
  AzureKeyCredential,
  AzureSASCredential,
  EventGridDeserializer,
  EventGridPublisherClient,
  generateSharedAccessSignature,
} from '@azure/eventgrid';
import { generate } from 'selfsigned';
import { isEventGridEmulatorError, startEventGridEmulator, type EventGridEmulator, type TopicInfo } from '../../../emulators/eventgrid/index.js';
import { parseJson, startWebhookReceiver, validatingResponder, type WebhookReceiver } from './webhook-receiver.js';

const deserializer = new EventGridDeserializer();
/** The emulator speaks plain HTTP on loopback unless given a certificate; the SDK then needs this. */
const insecure = { allowInsecureConnection: true };

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof RestError) return error.statusCode;
    throw error;
  }
}

describe('Event Grid emulator: custom topic endpoint (Rotor’s notifications)', () => {
  let eventGrid: EventGridEmulator;
  let cloudTopic: TopicInfo;
  let gridTopic: TopicInfo;
  const receivers: WebhookReceiver[] = [];

  function cloudClient(key = cloudTopic.key1!): EventGridPublisherClient<'CloudEvent'> {
    return new EventGridPublisherClient(cloudTopic.endpoint!, 'CloudEvent', new AzureKeyCredential(key), insecure);
  }

  function gridClient(): EventGridPublisherClient<'EventGrid'> {
    return new EventGridPublisherClient(gridTopic.endpoint!, 'EventGrid', new AzureKeyCredential(gridTopic.key1!), insecure);
  }

  async function rawPublish(topic: TopicInfo, body: string, contentType: string, query = '?api-version=2018-01-01'): Promise<Response> {
    return fetch(`${topic.endpoint}${query}`, { method: 'POST', headers: { 'content-type': contentType, 'aeg-sas-key': topic.key1! }, body });
  }

  beforeAll(async () => {
    eventGrid = await startEventGridEmulator({
      retryTimeScale: 0.001,
      topics: [
        { name: 'rotor-notifications', inputSchema: 'CloudEventSchemaV1_0' },
        { name: 'grid-topic', inputSchema: 'EventGridSchema' },
        { name: 'key-topic', inputSchema: 'EventGridSchema' },
      ],
    });
    cloudTopic = eventGrid.admin.topics().find((t) => t.name === 'rotor-notifications')!;
    gridTopic = eventGrid.admin.topics().find((t) => t.name === 'grid-topic')!;
  });

  afterEach(() => {
    for (const subscription of eventGrid.admin.listSubscriptions()) eventGrid.admin.deleteSubscription(subscription.name);
  });

  afterAll(async () => {
    await eventGrid.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('exposes the first custom topic as topicEndpoint/topicKey, with a service-shaped key', () => {
    // Assess
    expect(eventGrid.topicEndpoint).toBe(`${eventGrid.url}/topics/rotor-notifications/api/events`);
    expect(eventGrid.topicKey).toBe(cloudTopic.key1);
    expect(Buffer.from(eventGrid.topicKey, 'base64')).toHaveLength(32);
  });

  it('records CloudEvents sent by EventGridPublisherClient and fans them out unchanged to a CloudEvents subscription', async () => {
    // Prepare
    const webhook = await startWebhookReceiver(validatingResponder(200));
    receivers.push(webhook);
    await eventGrid.admin.createSubscription({ name: 'notify-ce', topic: 'rotor-notifications', endpointUrl: webhook.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });
    const before = eventGrid.admin.published({ topic: 'rotor-notifications' }).length;

    // Act
    await cloudClient().send([
      { type: 'Rotor.RotationCompleted', source: '/rotor/kv-app', subject: 'db-password', data: { rotationId: 'r-1', versions: { from: 'a', to: 'b' } }, extensionAttributes: { rotationid: 'r-1' } },
      { type: 'Rotor.RotationFailed', source: '/rotor/kv-app', subject: 'api-token', data: { rotationId: 'r-2', reason: 'provider refused' } },
    ]);
    const records = await eventGrid.admin.waitForPublished({ topic: 'rotor-notifications', count: before + 2 });
    await eventGrid.admin.waitForIdle();

    // Assess
    const sent = records.slice(before).map((r) => r.event);
    expect(sent).toMatchObject([
      { specversion: '1.0', type: 'Rotor.RotationCompleted', source: '/rotor/kv-app', subject: 'db-password', datacontenttype: 'application/json', rotationid: 'r-1', data: { rotationId: 'r-1' } },
      { specversion: '1.0', type: 'Rotor.RotationFailed', subject: 'api-token', data: { reason: 'provider refused' } },
    ]);
    const delivered = await Promise.all(webhook.notifications().map((n) => deserializer.deserializeCloudEvents(n.body)));
    expect(delivered.flat().map((e) => e.type).sort()).toEqual(['Rotor.RotationCompleted', 'Rotor.RotationFailed']);
    expect(delivered.flat().find((e) => e.type === 'Rotor.RotationCompleted')?.extensionAttributes).toEqual({ rotationid: 'r-1' });
  });

  it('stamps Event Grid schema events with the topic id and delivers them in both schemas', async () => {
    // Prepare
    const gridHook = await startWebhookReceiver(validatingResponder(200));
    const cloudHook = await startWebhookReceiver(validatingResponder(200));
    receivers.push(gridHook, cloudHook);
    await eventGrid.admin.createSubscription({ name: 'grid-eg', topic: 'grid-topic', endpointUrl: gridHook.url });
    await eventGrid.admin.createSubscription({ name: 'grid-ce', topic: 'grid-topic', endpointUrl: cloudHook.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });

    // Act
    await gridClient().send([{ id: 'grid-1', eventType: 'Rotor.Test', subject: 'secrets/db', dataVersion: '2.0', data: { Value: 1 } }]);
    await eventGrid.admin.waitForIdle();

    // Assess
    const [gridEvent] = await deserializer.deserializeEventGridEvents(gridHook.notifications()[0]!.body);
    expect(gridEvent).toMatchObject({ id: 'grid-1', topic: gridTopic.resourceId, metadataVersion: '1', dataVersion: '2.0', data: { Value: 1 } });
    expect(gridHook.notifications()[0]?.headers['aeg-data-version']).toBe('2.0');
    expect(parseJson(cloudHook.notifications()[0]!)).toMatchObject({ id: 'grid-1', source: gridTopic.resourceId, type: 'Rotor.Test', subject: 'secrets/db' });
  });

  it.each<[string, () => EventGridPublisherClient<'CloudEvent'>]>([
    ['a wrong key', () => cloudClient(Buffer.alloc(32, 7).toString('base64'))],
    ['the other topic’s key', () => cloudClient(gridTopic.key1)],
  ])('answers 401 to %s and records nothing', async (_case, client) => {
    // Prepare
    const before = eventGrid.admin.published().length;

    // Act
    const status = await statusOf(client().send([{ type: 'Rotor.X', source: '/rotor', data: {} }]));

    // Assess
    expect(status).toBe(401);
    expect(eventGrid.admin.published()).toHaveLength(before);
  });

  it('answers 401 to a request with no credential at all', async () => {
    // Act
    const response = await fetch(`${cloudTopic.endpoint}?api-version=2018-01-01`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      body: JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's' }]),
    });

    // Assess
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('Unauthorized');
  });

  it('accepts key2 as well as key1, and a regenerated key replaces the old one at once', async () => {
    // Prepare
    const topic = eventGrid.admin.topics().find((t) => t.name === 'key-topic')!;
    const client = (key: string) => new EventGridPublisherClient(topic.endpoint!, 'EventGrid', new AzureKeyCredential(key), insecure);
    const event = { eventType: 'Rotor.KeyTest', subject: 's', dataVersion: '1', data: {} };

    // Act
    const withKey2 = await statusOf(client(topic.key2!).send([event]));
    const renewed = eventGrid.admin.regenerateKey('key-topic', 'key1');
    const withOldKey1 = await statusOf(client(topic.key1!).send([event]));
    const withNewKey1 = await statusOf(client(renewed).send([event]));

    // Assess
    expect([withKey2, withOldKey1, withNewKey1]).toEqual([200, 401, 200]);
  });

  it.each<[string, () => Promise<string>, number]>([
    ['a valid SAS token', () => generateSharedAccessSignature(cloudTopic.endpoint!, new AzureKeyCredential(cloudTopic.key1!), new Date(Date.now() + 3_600_000)), 200],
    ['an expired SAS token', () => generateSharedAccessSignature(cloudTopic.endpoint!, new AzureKeyCredential(cloudTopic.key1!), new Date(Date.now() - 60_000)), 401],
    ['a SAS token for another topic', () => generateSharedAccessSignature(gridTopic.endpoint!, new AzureKeyCredential(cloudTopic.key1!), new Date(Date.now() + 3_600_000)), 401],
    ['a SAS token signed with a foreign key', () => generateSharedAccessSignature(cloudTopic.endpoint!, new AzureKeyCredential(Buffer.alloc(32, 1).toString('base64')), new Date(Date.now() + 3_600_000)), 401],
  ])('answers %s with %i', async (_case, token, expected) => {
    // Prepare
    const client = new EventGridPublisherClient(cloudTopic.endpoint!, 'CloudEvent', new AzureSASCredential(await token()), insecure);

    // Act
    const status = await statusOf(client.send([{ type: 'Rotor.Sas', source: '/rotor', data: { ok: true } }]));

    // Assess
    expect(status).toBe(expected);
  });

  it.each<[string, 'cloud' | 'grid', string, string, string | undefined]>([
    ['a body that is not JSON', 'grid', '[{', 'application/json', undefined],
    ['an object instead of an array', 'grid', JSON.stringify({ id: '1', eventType: 't', subject: 's', eventTime: new Date().toISOString(), data: {} }), 'application/json', undefined],
    ['an empty array', 'grid', '[]', 'application/json', undefined],
    ['an event without eventType', 'grid', JSON.stringify([{ id: '1', subject: 's', eventTime: new Date().toISOString(), data: {} }]), 'application/json', '[0].eventType'],
    ['an event without data', 'grid', JSON.stringify([{ id: '1', eventType: 't', subject: 's', eventTime: new Date().toISOString() }]), 'application/json', '[0].data'],
    ['a bad eventTime', 'grid', JSON.stringify([{ id: '1', eventType: 't', subject: 's', eventTime: 'soon', data: {} }]), 'application/json', '[0].eventTime'],
    ['a foreign topic', 'grid', JSON.stringify([{ id: '1', topic: '/subscriptions/x/other', eventType: 't', subject: 's', eventTime: new Date().toISOString(), data: {} }]), 'application/json', '[0].topic'],
    ['CloudEvents sent to an Event Grid schema topic', 'grid', JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's' }]), 'application/cloudevents-batch+json; charset=utf-8', undefined],
    ['specversion 0.3', 'cloud', JSON.stringify([{ specversion: '0.3', id: '1', type: 't', source: 's' }]), 'application/cloudevents-batch+json; charset=utf-8', '[0].specversion'],
    ['a CloudEvent without source', 'cloud', JSON.stringify([{ specversion: '1.0', id: '1', type: 't' }]), 'application/cloudevents-batch+json; charset=utf-8', '[0].source'],
    ['an upper-case extension attribute', 'cloud', JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's', RotationId: 'x' }]), 'application/cloudevents-batch+json; charset=utf-8', '[0].RotationId'],
    ['both data and data_base64', 'cloud', JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's', data: {}, data_base64: 'AA==' }]), 'application/cloudevents-batch+json; charset=utf-8', '[0].data_base64'],
    ['a CloudEvents batch sent as application/json', 'cloud', JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's' }]), 'application/json', undefined],
    ['an array sent as a single CloudEvent', 'cloud', JSON.stringify([{ specversion: '1.0', id: '1', type: 't', source: 's' }]), 'application/cloudevents+json', undefined],
  ])('answers 400 to %s, naming the field when there is one', async (_case, which, body, contentType, field) => {
    // Prepare
    const topic = which === 'cloud' ? cloudTopic : gridTopic;
    const before = eventGrid.admin.published().length;

    // Act
    const response = await rawPublish(topic, body, contentType);

    // Assess
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { code: string; message: string; details?: { message: string }[] } }).error;
    expect(error.code).toBe('BadRequest');
    if (field !== undefined) expect(error.details?.map((d) => d.message.split(':')[0])).toContain(field);
    expect(eventGrid.admin.published()).toHaveLength(before);
  });

  it('accepts a single structured CloudEvent (application/cloudevents+json)', async () => {
    // Act
    const response = await rawPublish(cloudTopic, JSON.stringify({ specversion: '1.0', id: 'single-1', type: 't', source: 's' }), 'application/cloudevents+json; charset=utf-8');

    // Assess
    expect(response.status).toBe(200);
    expect(eventGrid.admin.published().some((r) => r.event.id === 'single-1')).toBe(true);
  });

  it('requires the api-version query parameter', async () => {
    // Act
    const response = await rawPublish(gridTopic, JSON.stringify([{ id: '1', eventType: 't', subject: 's', eventTime: new Date().toISOString(), data: {} }]), 'application/json', '');

    // Assess
    expect(response.status).toBe(400);
  });

  it('answers 413 to a batch over 1 MB and accepts one just under it', async () => {
    // Prepare
    const big = 'x'.repeat(1024 * 1024);
    const nearlyBig = 'x'.repeat(1000 * 1000);
    const before = eventGrid.admin.published().length;

    // Act
    const over = await statusOf(cloudClient().send([{ type: 'Rotor.Big', source: '/rotor', data: { big } }]));
    const under = await statusOf(cloudClient().send([{ type: 'Rotor.Big', source: '/rotor', data: { nearlyBig } }]));

    // Assess
    expect([over, under]).toEqual([413, 200]);
    expect(eventGrid.admin.published()).toHaveLength(before + 1);
  });

  it('answers 404 for a topic that does not exist', async () => {
    // Act
    const response = await fetch(`${eventGrid.url}/topics/nope/api/events?api-version=2018-01-01`, { method: 'POST', body: '[]' });

    // Assess
    expect(response.status).toBe(404);
  });

  it('times out a wait for events that never come with a clear error', async () => {
    // Act
    let error: unknown;
    try {
      await eventGrid.admin.waitForPublished({ topic: 'grid-topic', count: 10_000 }, { timeoutMs: 20 });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(isEventGridEmulatorError(error) && error.code).toBe('WaitTimedOut');
    expect((error as Error).message).toContain('10000 event(s) published to grid-topic');
  });
});

describe('Event Grid emulator: custom topic over HTTPS', () => {
  it('serves the topic with a given certificate, so the SDK needs only the CA (no allowInsecureConnection)', async () => {
    // Prepare
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const eventGrid = await startEventGridEmulator({ tls: { cert: pems.cert, key: pems.private } });
    try {
      const client = new EventGridPublisherClient(eventGrid.topicEndpoint, 'CloudEvent', new AzureKeyCredential(eventGrid.topicKey), { tlsOptions: { ca: pems.cert } });

      // Act
      await client.send([{ type: 'Rotor.Tls', source: '/rotor', data: { ok: true } }]);

      // Assess
      expect(eventGrid.url.startsWith('https://')).toBe(true);
      expect(eventGrid.admin.published().map((r) => r.event)).toMatchObject([{ type: 'Rotor.Tls' }]);
    } finally {
      await eventGrid.stop();
    }
  });
});
