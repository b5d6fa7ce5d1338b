import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { ContainerClient } from '@azure/storage-blob';
import { createEmulatorSecretClient, startKeyVaultEmulator, type KeyVaultEmulator } from '../../emulators/keyvault/index.js';
import { createHttpHealthProbe } from '../../src/health/http-probe.js';
import { createKeyVaultSecretStore } from '../../src/keyvault/secret-store.js';
import { createBlobLedger, type BlobLedger } from '../../src/ledger/blob-ledger.js';
import { createLogger, createMemorySink, type LogRecord } from '../../src/observability/logger.js';
import { createRotationEngine, type EngineSettings, type RotationEngine, type RotationEngineDeps } from '../../src/rotation/engine.js';
import type { Clock, SecretStore, StepQueue } from '../../src/rotation/ports.js';
import { createRandomRotator } from '../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry, type Rotator } from '../../src/rotation/rotator.js';
import { startAzuriteBlob, type AzuriteBlob } from './azurite.js';
import { createFakeNotifier, type FakeNotifier } from './fakes/notifier.js';
import type { EnginePorts } from './fakes/world.js';

/**
 * The end-to-end ground: the Key Vault emulator behind a real `SecretClient`
 * and Rotor's Key Vault store, Azurite behind Rotor's blob ledger, a consumer
 * application with a health endpoint that reads the secret from the vault,
 * and the real HTTP health probe. The step queue is the caller's (the Service
 * Bus emulator, or the in-memory one while that is not available).
 */
export interface E2EGround {
  readonly kv: KeyVaultEmulator;
  readonly vaultUrl: string;
  readonly azurite: AzuriteBlob;
  /** Client for test set-up and assertions (values included: never log them). */
  readonly client: SecretClient;
  readonly consumer: ConsumerApp;
  stop(): Promise<void>;
}

/**
 * A consuming application: `/health/<secret>` reads the secret's latest value
 * from the vault and answers 200 when it would work with it, 503 otherwise.
 */
export interface ConsumerApp {
  readonly baseUrl: string;
  healthUrl(secretName: string): string;
  /** Which values the app works with; default: any. */
  accept(secretName: string, rule: ((value: string) => boolean) | 'never' | undefined): void;
  readonly probes: number;
}

/** A well-behaved app retries a vault read that was throttled or failed, as the SDK's default policy would. */
async function readWithRetries(client: SecretClient, name: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await client.getSecret(name)).value ?? '';
    } catch (error) {
      if (attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }
}

async function startConsumer(client: SecretClient): Promise<ConsumerApp & { stop(): Promise<void> }> {
  const rules = new Map<string, ((value: string) => boolean) | 'never'>();
  let probes = 0;
  const server: Server = createServer((request, response) => {
    probes += 1;
    const name = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname.replace(/^\/health\//, ''));
    const rule = rules.get(name);
    if (rule === 'never') return void response.writeHead(503).end();
    readWithRetries(client, name)
      .then((value) => response.writeHead(rule === undefined || rule(value) ? 200 : 503).end())
      .catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    healthUrl: (name) => `${baseUrl}/health/${name}`,
    accept: (name, rule) => (rule === undefined ? rules.delete(name) : rules.set(name, rule)),
    get probes() {
      return probes;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The vault's own throttle is off here: test set-up writes hundreds of
 * versions in seconds, and the fault tests inject 429s explicitly (and
 * deterministically in number) instead.
 */
export async function startE2EGround(): Promise<E2EGround> {
  const [kv, azurite] = await Promise.all([startKeyVaultEmulator({ expiryCheckIntervalMs: 0, throttle: false }), startAzuriteBlob()]);
  const client = createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } });
  const consumer = await startConsumer(client);
  return {
    kv,
    vaultUrl: new URL(kv.url).origin,
    azurite,
    client,
    consumer,
    stop: async () => {
      await consumer.stop();
      await Promise.all([kv.stop(), azurite.stop()]);
    },
  };
}

export interface E2ERotor {
  readonly engine: RotationEngine;
  readonly secretStore: SecretStore;
  readonly ledger: BlobLedger;
  readonly container: ContainerClient;
  readonly notifier: FakeNotifier;
  readonly logs: LogRecord[];
  /** Every ledger blob (records, locks, index, audit) as `name\ncontent`. */
  ledgerBlobs(): Promise<string[]>;
}

/**
 * Rotor wired as `composeRotor` wires it, on the ground's emulators: real Key
 * Vault store (millisecond backoff), real blob ledger in a fresh container,
 * real HTTP probe; the notifier is in memory (the Event Grid adapter is tested
 * with the intake).
 */
export async function createE2ERotor(
  ground: E2EGround,
  options: {
    readonly stepQueue: StepQueue;
    readonly clock?: Clock;
    readonly rotators?: readonly Rotator[];
    readonly settings?: Partial<EngineSettings>;
    /** Replaces ports before the engine gets them (crash switches, fault injection). */
    readonly wrapPorts?: (ports: EnginePorts) => EnginePorts;
    /** Declared consumers' adapters and registry (src/consumers/). */
    readonly consumers?: RotationEngineDeps['consumers'];
  },
): Promise<E2ERotor> {
  const sink = createMemorySink();
  const logger = createLogger(sink, { level: 'debug' });
  const secretStore = createKeyVaultSecretStore({
    clientFor: () => createEmulatorSecretClient(ground.kv, { clientOptions: { retryOptions: { maxRetries: 0 } } }),
    backoffMs: [5, 10, 20, 40, 80],
    logger,
    ...(options.clock === undefined ? {} : { now: () => options.clock!.now().getTime() }),
  });
  const container = ground.azurite.client().getContainerClient(`ledger-${randomBytes(6).toString('hex')}`);
  const ledger = createBlobLedger({ container, ...(options.clock === undefined ? {} : { clock: options.clock }) });
  await ledger.ensureContainer();
  const notifier = createFakeNotifier();
  const base: EnginePorts = {
    secretStore,
    stepQueue: options.stepQueue,
    ledger,
    notifier,
    healthProbe: createHttpHealthProbe({ timeoutMs: 5_000, consecutivePasses: 2 }),
    rotators: [createRandomRotator(), ...(options.rotators ?? [])],
  };
  const ports = options.wrapPorts?.(base) ?? base;
  const engine = createRotationEngine({
    ...ports,
    rotators: createRotatorRegistry(ports.rotators),
    logger,
    ...(options.consumers === undefined ? {} : { consumers: options.consumers }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    settings: { backoff: { baseMs: 20, maxMs: 200 }, maxStepAttempts: 6, ...options.settings },
  });
  return {
    engine,
    secretStore,
    ledger,
    container,
    notifier,
    logs: sink.records,
    async ledgerBlobs() {
      const blobs: string[] = [];
      for await (const item of container.listBlobsFlat()) {
        blobs.push(`${item.name}\n${(await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8')}`);
      }
      return blobs;
    },
  };
}

/** A secret's versions by id, as the vault lists them (properties only). */
export async function versionsOf(client: SecretClient, name: string): Promise<Map<string, { enabled: boolean; tags: Record<string, string>; expiresOn?: Date }>> {
  const versions = new Map<string, { enabled: boolean; tags: Record<string, string>; expiresOn?: Date }>();
  for await (const p of client.listPropertiesOfSecretVersions(name)) {
    versions.set(p.version ?? '', { enabled: p.enabled ?? true, tags: { ...p.tags }, ...(p.expiresOn === undefined ? {} : { expiresOn: p.expiresOn }) });
  }
  return versions;
}
