import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import type { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient, BlockBlobClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createClientSecretCheck } from '../../azure-management/client-secret-check.js';
import { POSTGRES_JSON_CONTENT_TYPE } from '../../rotators/postgres/index.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { cachedSecret, createCounter, every, type CachedSecret, type ConsumerCounts } from './consumer.js';
import { APP_DISPLAY_NAME, BUSINESS_TOPIC, insertPurchaseOrder, setRolePassword, STORAGE_ACCOUNT, UPLOADS_ACCOUNT, type ScenarioGround } from './ground.js';

/**
 * The cases that bring people to Rotor, seeded into the local vault with a
 * live consumer each (`npm start`, `npm run demo`, test/scenarios):
 *
 * | Scenario | Managed secrets (rotator) | Consumer |
 * | --- | --- | --- |
 * | business-events | client secret (entra-app-secret), topic key (eventgrid-topic-key) | a D365-style publisher: token with the client secret, `PurchaseOrderConfirmed` events with the topic key; a Logic-App-style subscriber counting them |
 * | sas-uploader | SAS URL (storage-sas) | an uploader that only ever holds the SAS |
 * | storage-app | connection string (storage-account-key) | an app writing blobs with the account key |
 * | postgres-app | login (postgres, alternating roles) | an app inserting rows with a TTL-cached login |
 * | webhook-partner | API key (webhook, the example receiver) | a partner client calling with the key |
 *
 * Every consumer caches its credential for `ttlMs` and never re-reads it on
 * failure; each secret's grace period is longer than that TTL, which is what
 * lets a rotation lose no request. Values are random and never printed.
 */

export const SCENARIO_TTL_MS = 2_000;
/** Longer than the TTL plus a request: by the end of it every consumer holds the new value. */
export const SCENARIO_GRACE = 'PT4S';
const REQUEST_INTERVAL_MS = 250;

export interface ScenarioSecret {
  readonly name: string;
  readonly rotator: string;
}

export interface ScenarioReport {
  readonly scenario: string;
  readonly secrets: readonly ScenarioSecret[];
  readonly requests: ConsumerCounts;
  readonly events?: { readonly published: number; readonly received: number };
}

export interface RunningScenario {
  readonly name: string;
  readonly summary: string;
  readonly secrets: readonly ScenarioSecret[];
  /** Uses the latest value once (Rotor's health probe): undefined when it works, else why not. */
  health(secret: string): Promise<string | undefined>;
  report(): ScenarioReport;
  /** Lets in-flight work land (events still being delivered) before a final report. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface SeedContext {
  readonly ground: ScenarioGround;
  /** Writes secrets as their owner would (Key Vault Secrets Officer). */
  readonly admin: SecretClient;
  /** What the consumers read with (Key Vault Secrets User). */
  readonly reader: SecretClient;
  /** `rotor-health` URL of a secret. */
  readonly healthUrl: (secret: string) => string;
  readonly ttlMs?: number;
}

const commonTags = (ctx: SeedContext, secret: string): Record<string, string> => ({
  'rotor-grace': SCENARIO_GRACE,
  'rotor-health': ctx.healthUrl(secret),
});

async function attempt(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { statusCode?: number }).statusCode === undefined ? 'the request failed' : `answered ${(error as { statusCode: number }).statusCode}`;
  }
}

// ---- business events: Dynamics 365 F&O → Event Grid custom topic → Logic App ----

export const BusinessEventsSecret = { ClientSecret: 'd365-eventgrid-client-secret', TopicKey: 'd365-eventgrid-topic-key' } as const;

async function seedBusinessEvents(ctx: SeedContext): Promise<RunningScenario> {
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

function singleSecretScenario(options: {
  readonly name: string;
  readonly summary: string;
  readonly secret: ScenarioSecret;
  readonly cache: CachedSecret;
  readonly use: (value: SecretValue) => Promise<void>;
}): RunningScenario {
  const counter = createCounter(() => options.cache.versionsSeen.size);
  const loop = every(REQUEST_INTERVAL_MS, async () => {
    try {
      await options.use((await options.cache.get()).value);
      counter.ok();
    } catch (error) {
      counter.failed(error);
    }
  });
  return {
    name: options.name,
    summary: options.summary,
    secrets: [options.secret],
    health: async () => attempt(async () => options.use((await options.cache.fresh()).value)),
    report: () => ({ scenario: options.name, secrets: [options.secret], requests: counter.counts() }),
    settle: () => Promise.resolve(),
    stop: () => loop.stop(),
  };
}

/** Writes one managed secret (its rotator tag, `tags`, grace and health) and starts its consumer. */
async function seedSingle(
  ctx: SeedContext,
  o: {
    readonly scenario: string;
    readonly summary: string;
    readonly secret: ScenarioSecret;
    readonly value: string;
    readonly tags: Readonly<Record<string, string>>;
    readonly contentType?: string;
    readonly use: (value: SecretValue) => Promise<void>;
  },
): Promise<RunningScenario> {
  await ctx.admin.setSecret(o.secret.name, o.value, {
    ...(o.contentType === undefined ? {} : { contentType: o.contentType }),
    tags: { 'rotor-rotator': o.secret.rotator, ...o.tags, ...commonTags(ctx, o.secret.name) },
  });
  return singleSecretScenario({
    name: o.scenario,
    summary: o.summary,
    secret: o.secret,
    cache: cachedSecret(ctx.reader, o.secret.name, ctx.ttlMs ?? SCENARIO_TTL_MS),
    use: o.use,
  });
}

// ---- SAS valet key: the uploader never holds the account key ----

export const SAS_SECRET = 'supplier-portal-upload-sas';
const UPLOADS_KEY_SECRET = 'stsupplier-account-key';
const UPLOADS_CONTAINER = 'supplier-invoices';

async function seedSasUploader(ctx: SeedContext): Promise<RunningScenario> {
  const { standIn } = ctx.ground;
  const key = standIn.admin.storageAccount(UPLOADS_ACCOUNT).key1;
  const blobEndpoint = standIn.blobEndpoint(UPLOADS_ACCOUNT);
  const shared = new StorageSharedKeyCredential(UPLOADS_ACCOUNT, key);
  await new BlobServiceClient(blobEndpoint, shared).getContainerClient(UPLOADS_CONTAINER).createIfNotExists();
  // The key the SAS is signed with: the storage team's secret, not managed here.
  await ctx.admin.setSecret(UPLOADS_KEY_SECRET, `DefaultEndpointsProtocol=http;AccountName=${UPLOADS_ACCOUNT};AccountKey=${key};BlobEndpoint=${blobEndpoint};`);
  const containerUrl = `${blobEndpoint}/${UPLOADS_CONTAINER}`;
  const handMade = generateBlobSASQueryParameters(
    { containerName: UPLOADS_CONTAINER, permissions: ContainerSASPermissions.parse('rwl'), expiresOn: new Date(Date.now() + 86_400_000) },
    shared,
  ).toString();
  let uploads = 0;
  const upload = async (sasUrl: SecretValue, blob: string): Promise<void> => {
    const url = new URL(sasUrl.reveal());
    const client = new BlockBlobClient(`${url.origin}${url.pathname}/${blob}${url.search}`, undefined, { retryOptions: { maxTries: 1 } });
    await client.upload('%PDF-1.7 invoice', 16);
  };
  return seedSingle(ctx, {
    scenario: 'sas-uploader',
    summary: `supplier portal uploading to ${UPLOADS_ACCOUNT}/${UPLOADS_CONTAINER} with a SAS only`,
    secret: { name: SAS_SECRET, rotator: 'storage-sas' },
    value: `${containerUrl}?${handMade}`,
    tags: { 'rotor-target': containerUrl, 'rotor-sas-permissions': 'rwl', 'rotor-sas-key-secret': UPLOADS_KEY_SECRET, 'rotor-validity': 'P35D' },
    use: (value) => {
      uploads += 1;
      return upload(value, `invoice-${String(uploads).padStart(6, '0')}.pdf`);
    },
  });
}

// ---- storage account key: an app writing with the connection string ----

export const STORAGE_SECRET = 'finance-storage-connection';

async function seedStorageApp(ctx: SeedContext): Promise<RunningScenario> {
  const { standIn } = ctx.ground;
  const key = standIn.admin.storageAccount(STORAGE_ACCOUNT).key1;
  const blobEndpoint = standIn.blobEndpoint(STORAGE_ACCOUNT);
  await new BlobServiceClient(blobEndpoint, new StorageSharedKeyCredential(STORAGE_ACCOUNT, key)).getContainerClient('ledger-exports').createIfNotExists();
  let writes = 0;
  return seedSingle(ctx, {
    scenario: 'storage-app',
    summary: `finance app writing exports to ${STORAGE_ACCOUNT} with the account key`,
    secret: { name: STORAGE_SECRET, rotator: 'storage-account-key' },
    value: `DefaultEndpointsProtocol=http;AccountName=${STORAGE_ACCOUNT};AccountKey=${key};BlobEndpoint=${blobEndpoint};`,
    tags: { 'rotor-target': standIn.storageAccountId(STORAGE_ACCOUNT), 'rotor-storage-format': 'connection-string', CredentialId: 'key1' },
    use: async (value) => {
      writes += 1;
      const service = BlobServiceClient.fromConnectionString(value.reveal(), { retryOptions: { maxTries: 1 } });
      await service.getContainerClient('ledger-exports').getBlockBlobClient(`export-${writes % 50}.csv`).upload('id,amount\n', 10);
    },
  });
}

// ---- PostgreSQL, alternating roles: an app with a TTL-cached login ----

export const POSTGRES_SECRET = 'orders-db-credential';
const POSTGRES_ADMIN_SECRET = 'orders-db-rotor-admin';

async function seedPostgresApp(ctx: SeedContext): Promise<RunningScenario> {
  const { postgres } = ctx.ground;
  const adminPassword = randomBytes(24).toString('base64url');
  await setRolePassword(postgres, 'rotor_admin', adminPassword);
  await ctx.admin.setSecret(POSTGRES_ADMIN_SECRET, JSON.stringify({ username: 'rotor_admin', password: adminPassword }), { contentType: POSTGRES_JSON_CONTENT_TYPE });
  const initial = randomBytes(24).toString('base64url');
  await setRolePassword(postgres, 'app_a', initial);
  await setRolePassword(postgres, 'app_b', null);
  return seedSingle(ctx, {
    scenario: 'postgres-app',
    summary: 'orders app inserting rows; its login is cached, as apps pool connections',
    secret: { name: POSTGRES_SECRET, rotator: 'postgres' },
    value: JSON.stringify({ username: 'app_a', password: initial }),
    contentType: POSTGRES_JSON_CONTENT_TYPE,
    tags: {
      'rotor-strategy': 'alternating',
      'rotor-target': 'app_a,app_b',
      'rotor-pg-server': postgres.serverUrl,
      'rotor-pg-admin-secret': POSTGRES_ADMIN_SECRET,
      'rotor-slot': 'app_a',
    },
    use: (value) => insertPurchaseOrder(postgres, value),
  });
}

// ---- webhook: a partner system behind the example receiver ----

export const WEBHOOK_SECRET = 'partner-api-key';
export const WEBHOOK_SIGNING_SECRET = 'partner-webhook-signing-key';

async function seedWebhookPartner(ctx: SeedContext, signingKey: string): Promise<RunningScenario> {
  const { webhook } = ctx.ground;
  await ctx.admin.setSecret(WEBHOOK_SIGNING_SECRET, signingKey);
  const initial = randomBytes(24).toString('base64url');
  webhook.provider.slots.set('key1', initial);
  return seedSingle(ctx, {
    scenario: 'webhook-partner',
    summary: 'a client of the partner API behind the example webhook receiver',
    secret: { name: WEBHOOK_SECRET, rotator: 'webhook' },
    value: initial,
    tags: { 'rotor-strategy': 'alternating', 'rotor-webhook-url': webhook.url, 'rotor-webhook-signing-secret': WEBHOOK_SIGNING_SECRET, 'rotor-slot': 'key1' },
    use: (value) =>
      webhook.provider.accepts(value.reveal()) ? Promise.resolve() : Promise.reject(Object.assign(new Error('refused'), { statusCode: 401 })),
  });
}

/** Seeds every scenario and starts its consumers; `signingKey` is the webhook receiver's. */
export async function seedScenarios(ctx: SeedContext, signingKey: string): Promise<RunningScenario[]> {
  const started: RunningScenario[] = [];
  try {
    started.push(await seedBusinessEvents(ctx));
    started.push(await seedSasUploader(ctx));
    started.push(await seedStorageApp(ctx));
    started.push(await seedPostgresApp(ctx));
    started.push(await seedWebhookPartner(ctx, signingKey));
    return started;
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
}
