import { randomBytes } from 'node:crypto';
import type { SecretClient } from '@azure/keyvault-secrets';
import { startAzureManagementEmulator, type AzureManagementEmulator, type ApplicationSeed } from '../../../emulators/azure-management/index.js';
import { startEventGridEmulator, type EventGridEmulator, type TopicInfo } from '../../../emulators/eventgrid/index.js';
import { createEmulatorSecretClient, startKeyVaultEmulator, type KeyVaultEmulator } from '../../../emulators/keyvault/index.js';
import { createKeyVaultSecretStore } from '../../../src/keyvault/secret-store.js';
import { createLogger, createMemorySink, type LogRecord } from '../../../src/observability/logger.js';
import { createAppCredentialReader } from '../../../src/radar/graph-credentials.js';
import { createEventGridWarningPublisher } from '../../../src/radar/publisher.js';
import type { RadarSources } from '../../../src/radar/radar.js';
import type { RadarServices } from '../../../src/radar/services.js';
import { createBlobWarningRecord } from '../../../src/radar/warning-record.js';
import { readPolicy } from '../../../src/rotation/policy.js';
import { createAzureRotators } from '../../../src/rotators/azure-rotators.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry } from '../../../src/rotation/rotator.js';
import type { PolicyReading } from '../../../src/entry/services.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';

export const DAY = 24 * 3600_000;

/**
 * The radar's ground: the Key Vault emulator (its clock is the radar's),
 * the ARM/Graph stand-in holding app registrations, Azurite for the warning
 * record and the Event Grid emulator's notification topic for the warnings.
 */
export interface RadarGround {
  readonly kv: KeyVaultEmulator;
  readonly vaultUrl: string;
  readonly client: SecretClient;
  readonly graph: AzureManagementEmulator;
  readonly azurite: AzuriteBlob;
  readonly eventGrid: EventGridEmulator;
  readonly topic: TopicInfo;
  readonly logs: LogRecord[];
  /** Radar services as `radarFromRotor` builds them, on this ground; each call is one more "instance" sharing the same record. */
  services(options?: { watchApplications?: readonly string[]; thresholdsMs?: readonly number[]; container?: string }): Promise<RadarServices>;
  stop(): Promise<void>;
}

export async function startRadarGround(options: { start: Date; applications: readonly ApplicationSeed[] }): Promise<RadarGround> {
  const [kv, graph, azurite, eventGrid] = await Promise.all([
    startKeyVaultEmulator({ expiryCheckIntervalMs: 0, throttle: false, clockStart: options.start }),
    startAzureManagementEmulator({ applications: options.applications }),
    startAzuriteBlob(),
    startEventGridEmulator({ topics: [{ name: 'rotor-notifications', inputSchema: 'CloudEventSchemaV1_0' }] }),
  ]);
  const topic = eventGrid.admin.topics().find((t) => t.name === 'rotor-notifications')!;
  const sink = createMemorySink();
  const log = createLogger(sink, { level: 'debug' });
  const client = createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } });
  const credential = createFakeCredential();
  const rotators = createRotatorRegistry([
    createRandomRotator(),
    ...createAzureRotators({ credential, tenantId: graph.tenantId, endpoints: { graph: graph.graphEndpoint, arm: graph.armEndpoint, authorityHost: graph.authorityHost }, transport: { tls: { ca: graph.ca } } }),
  ]);
  const readReading = (tags: Readonly<Record<string, string>>): PolicyReading => {
    const reading = readPolicy(tags, { rotators, minValidityMs: 30 * DAY });
    return reading.kind === 'valid' ? { kind: 'valid', policy: reading.policy } : reading;
  };
  const defaultContainer = `ledger-${randomBytes(5).toString('hex')}`;
  await azurite.client().getContainerClient(defaultContainer).createIfNotExists();

  return {
    kv,
    vaultUrl: new URL(kv.url).origin,
    client,
    graph,
    azurite,
    eventGrid,
    topic,
    logs: sink.records,
    async services(o = {}) {
      const container = azurite.client().getContainerClient(o.container ?? defaultContainer);
      await container.createIfNotExists();
      const sources: RadarSources = {
        allowedVaults: [new URL(kv.url).origin],
        secrets: createKeyVaultSecretStore({ clientFor: () => createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } }), backoffMs: [5, 10], logger: log }),
        readPolicy: readReading,
        expiryHorizonMs: 30 * DAY,
        watchApplications: o.watchApplications ?? [],
        applications: createAppCredentialReader({ credential, endpoint: graph.graphEndpoint, tls: { ca: graph.ca }, retryDelayMs: 5 }),
        log,
      };
      return {
        sources,
        record: createBlobWarningRecord(container),
        publisher: createEventGridWarningPublisher({ endpoint: topic.endpoint!, credential: { key: topic.key1! }, log, now: () => kv.admin.clock.now() }),
        thresholdsMs: o.thresholdsMs ?? [30 * DAY, 14 * DAY, 7 * DAY, 1 * DAY],
        clock: { now: () => kv.admin.clock.now() },
        log,
      };
    },
    async stop() {
      await Promise.all([kv.stop(), graph.stop(), azurite.stop(), eventGrid.stop()]);
    },
  };
}
