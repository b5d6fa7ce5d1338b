import { randomBytes } from 'node:crypto';
import { BlobServiceClient, BlockBlobClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { POSTGRES_JSON_CONTENT_TYPE } from '../../rotators/postgres/index.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { cachedSecret, createCounter, every, type CachedSecret } from './consumer.js';
import { insertPurchaseOrder, setRolePassword, STORAGE_ACCOUNT, UPLOADS_ACCOUNT } from './ground.js';
import { seedBusinessEvents } from './business-events.js';
import { attempt, commonTags, REQUEST_INTERVAL_MS, SCENARIO_TTL_MS, type RunningScenario, type ScenarioSecret, type SeedContext } from './scenario.js';

export { BusinessEventsSecret } from './business-events.js';
export { SCENARIO_GRACE, SCENARIO_TTL_MS, type RunningScenario, type ScenarioReport, type ScenarioSecret, type SeedContext } from './scenario.js';

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
