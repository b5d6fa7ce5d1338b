import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import pg from 'pg';
import { startAzureManagementEmulator, type AzureManagementEmulator, type AzureManagementEmulatorOptions } from '../../../emulators/azure-management/index.js';
import { startEventGridEmulator, type EventGridEmulator } from '../../../emulators/eventgrid/index.js';
import { loopbackCertificate } from '../../../emulators/loopback-certificate.js';
import { createDemoProvider, type DemoProvider } from '../../../examples/webhook-receiver/demo-provider.js';
import { createRotorReceiver } from '../../../examples/webhook-receiver/receiver.js';
import type { Logger } from '../../observability/logger.js';
import { createAzureRotators } from '../../rotators/azure-rotators.js';
import { createPostgresRotator, decodeCredential } from '../../rotators/postgres/index.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import type { Rotator } from '../../rotation/rotator.js';
import { createWebhookRotator } from '../../rotators/webhook/index.js';
import { startTestPostgres, type TestPostgres } from './embedded-postgres.js';

/**
 * What the six rotators beyond `random` rotate against on this machine:
 * - the ARM / Graph / token stand-in (storage accounts in its own Azurite,
 *   an Event Grid topic, an app registration),
 * - an Event Grid emulator for the business-events custom topic, over HTTPS
 *   as Azure's topic endpoints are (the rotator's self-test publish and the
 *   publisher both check its certificate); its keys follow the stand-in's
 *   topic on every regeneration (one topic, as in Azure: ARM rotates the key
 *   the data plane checks),
 * - a real PostgreSQL (embedded) with the alternating roles of
 *   `docs/rotators/postgres-alternating.sql`,
 * - the example webhook receiver (`examples/webhook-receiver/`) over plain
 *   HTTP on loopback (the webhook rotator allows http only locally).
 *
 * Rotor reaches the stand-in with a local identity whose bearer token the
 * stand-in accepts, as ARM accepts the managed identity's.
 */

export const BUSINESS_TOPIC = 'd365-business-events';
export const STORAGE_ACCOUNT = 'stfinance';
export const UPLOADS_ACCOUNT = 'stsupplier';
export const APP_DISPLAY_NAME = 'd365-fo-eventgrid-integration';

export interface ScenarioGround {
  readonly standIn: AzureManagementEmulator;
  readonly postgres: TestPostgres;
  readonly webhook: { readonly url: string; readonly provider: DemoProvider; readonly refused: readonly string[] };
  /** Every rotator but `random`, wired to the stand-ins. */
  readonly rotators: readonly Rotator[];
  /** The business-events topic's Event Grid (HTTPS; trust `ca`). */
  readonly businessEvents: EventGridEmulator;
  readonly businessTopicEndpoint: string;
  /** PEMs to trust for the stand-in and the business-events topic. */
  readonly ca: string;
  stop(): Promise<void>;
}

/** Stands in for the Function App's managed identity: any bearer token is accepted by the stand-in. */
export function localIdentity(): TokenCredential {
  return {
    getToken(): Promise<AccessToken> {
      return Promise.resolve({ token: 'rotor-local-identity', expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

export interface ScenarioGroundOptions {
  readonly log: Logger;
  /** The signing key the webhook receiver verifies with (kept in the vault by the seeding). */
  readonly webhookSigningKey: string;
  /** The vault the stand-in's App Service sites resolve their Key Vault references in, and how often they refetch (App Service's 24 hours, compressed). */
  readonly consumerSites?: Pick<AzureManagementEmulatorOptions, 'keyVault' | 'referenceRefetchIntervalMs' | 'referenceRefreshDelayMs'>;
}

export async function startScenarioGround(options: ScenarioGroundOptions): Promise<ScenarioGround> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const pems = await loopbackCertificate('rotor-local-business-events');
    // Deliveries retry in hundredths of the service's waits, so a lost event would show within the demo.
    const businessEvents = await startEventGridEmulator({
      tls: { cert: pems.cert, key: pems.key },
      retryTimeScale: 0.01,
      topics: [{ name: BUSINESS_TOPIC, inputSchema: 'EventGridSchema' }],
    });
    stops.push(() => businessEvents.stop());
    const topic = businessEvents.admin.topics().find((t) => t.name === BUSINESS_TOPIC);
    if (topic?.endpoint === undefined || topic.key1 === undefined || topic.key2 === undefined) throw new Error(`the Event Grid emulator has no topic ${BUSINESS_TOPIC}`);
    const { key1, key2 } = topic;
    const [standIn, postgres] = await Promise.all([
      startAzureManagementEmulator({
        azurite: true,
        storageAccounts: [{ name: STORAGE_ACCOUNT }, { name: UPLOADS_ACCOUNT }],
        eventGridTopics: [{ name: BUSINESS_TOPIC, key1, key2 }],
        eventGridRegenerate: 'location',
        ...options.consumerSites,
        // The data plane checks the keys ARM holds: the emulator's topic follows each regeneration.
        onEventGridKeys: (name, keys) => {
          if (name.toLowerCase() === BUSINESS_TOPIC) businessEvents.admin.setKeys(BUSINESS_TOPIC, keys);
        },
      }),
      startTestPostgres(),
    ]);
    stops.push(() => standIn.stop(), () => postgres.stop());
    await postgres.query(alternatingSql);
    await postgres.query('CREATE TABLE IF NOT EXISTS purchase_orders (id serial PRIMARY KEY, confirmed_at timestamptz NOT NULL DEFAULT now())');
    await postgres.query('GRANT SELECT, INSERT ON purchase_orders TO app_rw; GRANT USAGE ON SEQUENCE purchase_orders_id_seq TO app_rw');

    const provider = createDemoProvider({});
    const refused: string[] = [];
    const receiver: Server = createServer(
      createRotorReceiver({ signingKey: options.webhookSigningKey, handle: (r) => provider.handle(r), onRejected: (_s, reason) => refused.push(reason) }),
    );
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          receiver.closeAllConnections();
          receiver.close(() => resolve());
        }),
    );

    const ca = `${standIn.ca.trim()}\n${pems.cert.trim()}\n`;
    const rotators: Rotator[] = [
      createPostgresRotator({ connectTimeoutMs: 5_000 }),
      createWebhookRotator({ allowHttp: true, retryDelayMs: 50 }),
      ...createAzureRotators({
        credential: localIdentity(),
        tenantId: standIn.tenantId,
        endpoints: { arm: standIn.armEndpoint, graph: standIn.graphEndpoint, authorityHost: standIn.authorityHost },
        blobEndpoint: (name) => standIn.blobEndpoint(name),
        transport: { tls: { ca }, retryDelayMs: 50 },
      }),
    ];
    return {
      standIn,
      postgres,
      webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/rotate`, provider, refused },
      rotators,
      businessEvents,
      businessTopicEndpoint: topic.endpoint,
      ca,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The setup SQL of the alternating strategy, as docs/rotators/postgres-alternating.sql gives it. */
const alternatingSql = `
CREATE ROLE rotor_admin LOGIN CREATEROLE;
CREATE ROLE app_rw NOLOGIN;
GRANT USAGE ON SCHEMA public TO app_rw;
CREATE ROLE app_a LOGIN INHERIT IN ROLE app_rw;
CREATE ROLE app_b LOGIN INHERIT IN ROLE app_rw;
GRANT app_a, app_b TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;
`;

/** What the orders apps do with their login: a fresh connection, one row into purchase_orders. */
export async function insertPurchaseOrder(postgres: TestPostgres, login: SecretValue): Promise<void> {
  const { username, password } = decodeCredential(login);
  const client = new pg.Client({ host: postgres.host, port: postgres.port, database: 'postgres', user: username, password: password.reveal(), connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('INSERT INTO purchase_orders DEFAULT VALUES');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Sets a role's password as the superuser (seeding only). */
export async function setRolePassword(postgres: TestPostgres, role: string, password: string | null): Promise<void> {
  await postgres.query(`ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${password === null ? 'NULL' : pg.escapeLiteral(password)}`);
}
