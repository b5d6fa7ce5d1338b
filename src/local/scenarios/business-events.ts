import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { createClientSecretCheck } from '../../azure-management/client-secret-check.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { cachedSecret, createCounter, every } from './consumer.js';
import { APP_DISPLAY_NAME, BUSINESS_TOPIC } from './ground.js';
import { attempt, commonTags, REQUEST_INTERVAL_MS, SCENARIO_TTL_MS, type RunningScenario, type SeedContext } from './scenario.js';

/** The business-events scenario: Dynamics 365 F&O → Event Grid custom topic → Logic App. */

export const BusinessEventsSecret = { ClientSecret: 'd365-eventgrid-client-secret', TopicKey: 'd365-eventgrid-topic-key' } as const;

export async function seedBusinessEvents(ctx: SeedContext): Promise<RunningScenario> {
  const { ground } = ctx;
  const app = ground.standIn.admin.addApplication({ displayName: APP_DISPLAY_NAME, passwords: [{ displayName: 'created by hand' }] });
  const original = app.passwordCredentials[0]!;
  await ctx.admin.setSecret(BusinessEventsSecret.ClientSecret, original.secretText, {
    tags: { 'rotor-rotator': 'entra-app-secret', 'rotor-target': app.appId, ...commonTags(ctx, BusinessEventsSecret.ClientSecret) },
  });
  await ctx.admin.setSecret(BusinessEventsSecret.TopicKey, ground.standIn.admin.eventGridTopic(BUSINESS_TOPIC).key1, {
    tags: {
      'rotor-rotator': 'eventgrid-topic-key',
      'rotor-target': ground.standIn.eventGridTopicId(BUSINESS_TOPIC),
      CredentialId: 'key1',
      'rotor-eventgrid-endpoint': ground.businessTopicEndpoint,
      ...commonTags(ctx, BusinessEventsSecret.TopicKey),
    },
  });

  // The Logic App: an Event Grid subscription to the business event, counting what arrives.
  const received = new Set<string>();
  const subscriber: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let events: { id?: string; eventType?: string; data?: { validationCode?: string } }[] = [];
      try {
        events = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof events;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const validation = events.find((e) => e.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent');
      if (validation !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ validationResponse: validation.data?.validationCode }));
        return;
      }
      for (const e of events) if (e.eventType === 'PurchaseOrderConfirmed' && e.id !== undefined) received.add(e.id);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => subscriber.listen(0, '127.0.0.1', resolve));
  await ground.businessEvents.admin.createSubscription({
    name: 'logic-app-purchase-orders',
    topic: BUSINESS_TOPIC,
    endpointUrl: `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/api/purchase-orders`,
    eventDeliverySchema: 'EventGridSchema',
    filter: { includedEventTypes: ['PurchaseOrderConfirmed'] },
  });

  // The publisher: D365 holds the app registration's secret (read from the vault here, TTL-cached)
  // and gets a token with it as its cache expires; it reads the topic key from the vault and publishes.
  const ttl = ctx.ttlMs ?? SCENARIO_TTL_MS;
  const clientSecret = cachedSecret(ctx.reader, BusinessEventsSecret.ClientSecret, ttl);
  const topicKey = cachedSecret(ctx.reader, BusinessEventsSecret.TopicKey, ttl);
  const counter = createCounter(() => clientSecret.versionsSeen.size + topicKey.versionsSeen.size);
  const check = createClientSecretCheck({ tls: { ca: ground.standIn.ca }, authorityHost: ground.standIn.authorityHost });
  const token = async (secret: SecretValue): Promise<void> => {
    const answer = await check({ tenantId: ground.standIn.tenantId, clientId: app.appId, secret });
    if (!answer.accepted) throw Object.assign(new Error('token refused'), { code: 'invalid_client' });
  };
  const publish = async (key: SecretValue, events: Parameters<EventGridPublisherClient<'EventGrid'>['send']>[0]): Promise<void> => {
    const client = new EventGridPublisherClient(ground.businessTopicEndpoint, 'EventGrid', new AzureKeyCredential(key.reveal()), {
      tlsOptions: { ca: ground.ca },
      retryOptions: { maxRetries: 0 },
    });
    await client.send(events);
  };
  const published = new Set<string>();
  let tokenUntil = 0;
  let sequence = 0;
  const loop = every(REQUEST_INTERVAL_MS, async () => {
    try {
      if (Date.now() >= tokenUntil) {
        await token((await clientSecret.get()).value);
        tokenUntil = Date.now() + ttl;
        counter.ok();
      }
    } catch (error) {
      counter.failed(error);
      return;
    }
    sequence += 1;
    const id = randomUUID();
    try {
      await publish((await topicKey.get()).value, [
        {
          id,
          eventType: 'PurchaseOrderConfirmed',
          subject: `PurchaseOrder/PO-${String(sequence).padStart(6, '0')}`,
          dataVersion: '1.0',
          data: {
            BusinessEventId: 'PurchaseOrderConfirmedBusinessEvent',
            BusinessEventLegalEntity: 'USMF',
            PurchaseOrderNumber: `PO-${String(sequence).padStart(6, '0')}`,
            ControlNumber: sequence,
            EventTime: new Date().toISOString(),
          },
        },
      ]);
      published.add(id);
      counter.ok();
    } catch (error) {
      counter.failed(error);
    }
  });
  const secrets = [
    { name: BusinessEventsSecret.ClientSecret, rotator: 'entra-app-secret' },
    { name: BusinessEventsSecret.TopicKey, rotator: 'eventgrid-topic-key' },
  ];
  return {
    name: 'business-events',
    summary: `D365-style publisher → custom topic ${BUSINESS_TOPIC} → Logic-App-style subscriber`,
    secrets,
    health: async (secret) => {
      if (secret === BusinessEventsSecret.ClientSecret) return attempt(async () => token((await clientSecret.fresh()).value));
      return attempt(async () =>
        publish((await topicKey.fresh()).value, [{ eventType: 'Contoso.Publisher.HealthCheck', subject: 'health', dataVersion: '1.0', data: {} }]),
      );
    },
    report: () => ({
      scenario: 'business-events',
      secrets,
      requests: counter.counts(),
      events: { published: published.size, received: [...published].filter((id) => received.has(id)).length },
    }),
    settle: () => ground.businessEvents.admin.waitForIdle({ timeoutMs: 30_000 }),
    stop: async () => {
      await loop.stop();
      subscriber.closeAllConnections();
      await new Promise<void>((resolve) => subscriber.close(() => resolve()));
    },
  };
}

// ---- a consumer of one secret, used in a loop and by its health probe ----

