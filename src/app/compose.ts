import type { InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { createBlobBatchStore, type BatchStore } from '../batch/store.js';
import { getSettings, type Connection, type RotorSettings } from '../config/index.js';
import { createHttpHealthProbe } from '../health/http-probe.js';
import { SecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';
import { keyVaultClientOptions } from '../keyvault/client-options.js';
import { createPacedSecretStore } from '../keyvault/paced-secret-store.js';
import { createKeyVaultSecretStore } from '../keyvault/secret-store.js';
import { createBlobPacingStore } from '../pacing/blob-pacing-store.js';
import { defaultPacingTargets, targetFor } from '../pacing/targets.js';
import { createVaultPacer, type VaultPacer } from '../pacing/vault-pacer.js';
import { createBlobLedger } from '../ledger/blob-ledger.js';
import { withRequestTimeouts } from '../ledger/storage-options.js';
import { createNotifierFromSettings } from '../notify/event-grid-notifier.js';
import { createLogger, jsonLineSink, type Logger } from '../observability/logger.js';
import { createServiceBusStepQueue } from '../queue/step-queue.js';
import type { EntryServices } from '../entry/services.js';
import { createRotationEngine, type EngineSettings, type RotationEngine } from '../rotation/engine.js';
import { readPolicy } from '../rotation/policy.js';
import { systemClock, type Clock, type HealthProbe, type Notifier, type RotationLedger, type SecretStore, type StepQueue } from '../rotation/ports.js';
import { createRotatorRegistry, type Rotator, type RotatorRegistry } from '../rotation/rotator.js';
import type { ConsumerGateway } from '../consumers/adapter.js';
import { createConsumerGatewayFromOptions } from '../consumers/gateway.js';
import { createBlobConsumerRegistry, type ConsumerRegistry } from '../consumers/registry.js';
import { builtInRotators } from './rotators.js';
import { createAzureCredential } from '../identity/credential.js';
import { createServiceBusStartQueue, type EventStart, type StartQueue } from '../events/start-message.js';
import { createStepRedelivery, type RedeliveryPolicy, type StepRedelivery } from '../queue/step-redelivery.js';

/**
 * Everything the functions need, built once per process by the one
 * composition root (`composeRotor`): the step handler takes `engine` (and
 * `stepRedelivery`), every other function its `entry` services.
 */
export interface Rotor {
  readonly settings: RotorSettings;
  readonly logger: Logger;
  /** Rotor's one identity (the managed identity named by `AZURE_CLIENT_ID`, or the options' credential), built on first use. */
  readonly credential: () => TokenCredential;
  /** The ledger's blob container: the ledger, batches, pacing records, the consumer registry and the radar's warning record live in it. */
  readonly ledgerContainer: ContainerClient;
  readonly engine: RotationEngine;
  /** Paced: each call takes from the vault's budget first (src/pacing). */
  readonly secretStore: SecretStore;
  /** Key Vault's budget per vault, shared by instances; absent in compositions of fakes. */
  readonly pacer?: VaultPacer;
  readonly stepQueue: StepQueue;
  /** Sends a step again later when the infrastructure under it failed (functions/rotationSteps.ts); absent in compositions of fakes. */
  readonly stepRedelivery?: StepRedelivery;
  /** Events the intake admitted, waiting on the step queue for their rotation to start (enqueue first). */
  readonly startQueue?: StartQueue;
  readonly ledger: RotationLedger;
  /** Incident batch records, beside the rotations in the ledger's container. */
  readonly batches: BatchStore;
  readonly notifier: Notifier;
  readonly healthProbe: HealthProbe;
  readonly rotators: RotatorRegistry;
  /** Consumers beyond the `rotor-consumers` tag, beside the ledger. */
  readonly consumerRegistry: ConsumerRegistry;
  /** Nudges declared consumers and reads their adoption. */
  readonly consumers: ConsumerGateway;
  /** What the entry points (intake, HTTP API, dashboard, sweep, dead-letter handler) run on; see `entryServicesOf`. */
  readonly entry: EntryServices;
  /** Closes the Service Bus connection this composition opened. */
  close(): Promise<void>;
}

/** What a host may swap: the local stack passes emulator clients, tests pass fakes. */
export interface ComposeOptions {
  readonly settings?: RotorSettings;
  readonly credential?: TokenCredential;
  /** A `SecretClient` per vault; default: `new SecretClient(url, credential, keyVaultClientOptions())`: SDK retries off (the store backs off itself), a timeout per request. */
  readonly secretClientFor?: (vaultUrl: string) => SecretClient;
  readonly serviceBusClient?: ServiceBusClient;
  readonly blobServiceClient?: BlobServiceClient;
  readonly notifier?: Notifier;
  readonly healthProbe?: HealthProbe;
  readonly rotators?: readonly Rotator[];
  /** Consumer adapters; default: ARM through the managed identity, https signed with ROTOR_CONSUMER_SIGNING_KEY. */
  readonly consumers?: ConsumerGateway;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly engineSettings?: Partial<EngineSettings>;
  /** Backoff of steps whose infrastructure failed (default: 1 s doubling to a minute, 20 times); tests use milliseconds. */
  readonly redeliveryPolicy?: RedeliveryPolicy;
  /** Key Vault backoff ladder; tests use milliseconds. */
  readonly keyVaultBackoffMs?: readonly number[];
}

function serviceBusClientFor(connection: Connection, credential: () => TokenCredential): ServiceBusClient {
  return connection.kind === 'identity' ? new ServiceBusClient(connection.endpoint, credential()) : new ServiceBusClient(connection.connectionString);
}

function blobServiceClientFor(connection: Connection, credential: () => TokenCredential): BlobServiceClient {
  return withRequestTimeouts(
    connection.kind === 'identity' ? new BlobServiceClient(connection.endpoint, credential()) : BlobServiceClient.fromConnectionString(connection.connectionString),
  );
}

/**
 * The composition root: real adapters from settings and the managed identity
 * named by `AZURE_CLIENT_ID` (`createAzureCredential`). Only vaults in
 * `ROTOR_ALLOWED_VAULTS` get a client, so a request naming another host never
 * receives Rotor's token.
 */
export function composeRotor(options: ComposeOptions = {}): Rotor {
  const settings = options.settings ?? getSettings();
  const logger = options.logger ?? createLogger(jsonLineSink, { level: settings.logLevel, fields: { app: 'rotor' } });
  let credential: TokenCredential | undefined = options.credential;
  const lazyCredential = (): TokenCredential =>
    (credential ??= createAzureCredential({ managedIdentityClientId: settings.managedIdentityClientId }));

  const allowed = new Set(settings.allowedVaults.map((v) => new URL(v).origin));
  const makeClient = options.secretClientFor ?? ((vaultUrl: string) => new SecretClient(vaultUrl, lazyCredential(), keyVaultClientOptions()));
  const blobService = options.blobServiceClient ?? blobServiceClientFor(settings.ledgerStorage, lazyCredential);
  const ledgerContainer = blobService.getContainerClient(settings.ledgerContainer);
  // Key Vault's budget per vault, shared by every instance through the ledger's container (src/pacing).
  const vaultBudget = settings.vaultBudget ?? defaultPacingTargets;
  const pacer = createVaultPacer({
    store: createBlobPacingStore(ledgerContainer),
    targetFor: (vaultUrl) => targetFor(vaultBudget, vaultUrl),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const keyVaultStore = createKeyVaultSecretStore({
    clientFor: (vaultUrl) => {
      if (!allowed.has(vaultUrl)) throw new SecretStoreError(SecretStoreErrorCode.Forbidden, `vault ${new URL(vaultUrl).host} is not in ROTOR_ALLOWED_VAULTS`);
      return makeClient(vaultUrl);
    },
    logger,
    ...(options.clock === undefined ? {} : { now: () => options.clock!.now().getTime() }),
    ...(options.keyVaultBackoffMs === undefined ? {} : { backoffMs: options.keyVaultBackoffMs }),
  });
  const secretStore = createPacedSecretStore(keyVaultStore, {
    pacer,
    // A vault outside ROTOR_ALLOWED_VAULTS gets no pacing record: the store below refuses it first.
    unpaced: (vaultUrl) => !allowed.has(new URL(vaultUrl).origin) || targetFor(vaultBudget, vaultUrl) === 0,
    logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });

  const ownsServiceBus = options.serviceBusClient === undefined;
  const serviceBus = options.serviceBusClient ?? serviceBusClientFor(settings.serviceBus, lazyCredential);
  const stepQueue = createServiceBusStepQueue({ sender: serviceBus.createSender(settings.stepQueue), ...(options.clock === undefined ? {} : { clock: options.clock }) });
  const stepRedelivery = createStepRedelivery(serviceBus.createSender(settings.stepQueue), options.redeliveryPolicy);
  const startQueue = createServiceBusStartQueue(serviceBus.createSender(settings.stepQueue));

  const ledger = createBlobLedger({ container: ledgerContainer, ...(options.clock === undefined ? {} : { clock: options.clock }) });
  const batches = createBlobBatchStore(ledgerContainer);

  const consumerRegistry = createBlobConsumerRegistry({ container: ledgerContainer });
  const consumers =
    options.consumers ??
    createConsumerGatewayFromOptions({ credential: lazyCredential, ...(settings.consumerSigningKey === undefined ? {} : { signingKey: settings.consumerSigningKey }) });

  const notifier = options.notifier ?? createNotifierFromSettings(settings.notifications, lazyCredential, logger);
  const healthProbe = options.healthProbe ?? createHttpHealthProbe();
  const rotators = createRotatorRegistry(options.rotators ?? builtInRotators({ credential: lazyCredential() }));
  const engine = createRotationEngine({
    secretStore,
    stepQueue,
    ledger,
    notifier,
    healthProbe,
    rotators,
    logger,
    consumers: { gateway: consumers, registry: consumerRegistry },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    settings: { maxStepAttempts: settings.maxStepAttempts, minValidityMs: settings.expiryHorizonMs, ...options.engineSettings },
  });

  const composed: Omit<Rotor, 'entry'> = {
    settings,
    logger,
    credential: lazyCredential,
    ledgerContainer,
    engine,
    secretStore,
    pacer,
    stepQueue,
    stepRedelivery,
    startQueue,
    ledger,
    batches,
    notifier,
    healthProbe,
    rotators,
    consumerRegistry,
    consumers,
    close: async () => {
      if (ownsServiceBus) await serviceBus.close();
    },
  };
  return { ...composed, entry: entryServicesOf(composed) };
}

/** The entry services over a composed Rotor. */
export function entryServicesOf(rotor: Omit<Rotor, 'entry'>): EntryServices {
  const { settings } = rotor;
  return entryServicesOver({
    ...rotor,
    allowedVaults: settings.allowedVaults,
    expiryHorizonMs: settings.expiryHorizonMs,
    ...(settings.stallAfterMs === undefined ? {} : { stallAfterMs: settings.stallAfterMs }),
    clock: systemClock,
  });
}

/** What the entry services are made of: an engine's entry calls, its ports, its rotators and the vault settings. */
export interface EntryParts {
  readonly engine: Pick<RotationEngine, 'startRotation' | 'resumeRotation' | 'failRotation' | 'cancelRotation'>;
  readonly secretStore: SecretStore;
  readonly pacer?: VaultPacer;
  readonly ledger: RotationLedger;
  readonly batches?: BatchStore;
  readonly rotators: RotatorRegistry;
  readonly allowedVaults: readonly string[];
  readonly expiryHorizonMs: number;
  readonly stallAfterMs?: number;
  /** Where the intake enqueues admitted events (absent: it starts their rotations itself). */
  readonly startQueue?: StartQueue;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The entry services over an engine's parts (a composed Rotor, or a test's engine on emulators): the policy is read with its rotators, the horizon as minimum validity. */
export function entryServicesOver(parts: EntryParts): EntryServices {
  const { engine } = parts;
  return {
    allowedVaults: parts.allowedVaults,
    expiryHorizonMs: parts.expiryHorizonMs,
    ...(parts.stallAfterMs === undefined ? {} : { stallAfterMs: parts.stallAfterMs }),
    startRotation: engine.startRotation,
    ...(parts.startQueue === undefined ? {} : { enqueueStart: (start: EventStart) => parts.startQueue!.enqueue(start) }),
    resumeRotation: (rotationId) => engine.resumeRotation(rotationId),
    failRotation: (message, reason) => engine.failRotation(message, reason),
    cancelRotation: (rotationId, options) => engine.cancelRotation(rotationId, options),
    secrets: parts.secretStore,
    ...(parts.pacer === undefined ? {} : { pacer: parts.pacer }),
    ledger: parts.ledger,
    ...(parts.batches === undefined ? {} : { batches: parts.batches }),
    readPolicy: (tags) => {
      const reading = readPolicy(tags, { rotators: parts.rotators, minValidityMs: parts.expiryHorizonMs });
      return reading.kind === 'valid' ? { kind: 'valid', policy: reading.policy } : reading;
    },
    clock: parts.clock,
    log: parts.logger,
  };
}

let current: Promise<Rotor> | undefined;

/**
 * The process's Rotor, composed on first use from the environment. Locally
 * (a connection string for the ledger) the ledger container is created if
 * missing; in Azure the Bicep creates it.
 */
export function getRotor(): Promise<Rotor> {
  current ??= (async () => {
    const rotor = composeRotor();
    if (rotor.settings.ledgerStorage.kind === 'connectionString') await rotor.ledgerContainer.createIfNotExists();
    return rotor;
  })();
  current.catch(() => {
    current = undefined; // a failed start (bad settings) is retried on the next invocation
  });
  return current;
}

/** Installs a composed Rotor for this process (the local host with emulator clients, tests); `undefined` resets. */
export function useRotor(rotor: Rotor | undefined): void {
  current = rotor === undefined ? undefined : Promise.resolve(rotor);
}

/** The process's entry services for one invocation, with a logger that names the function and invocation. */
export async function entryServicesFor(context: InvocationContext): Promise<EntryServices> {
  const { entry } = await getRotor();
  return { ...entry, log: entry.log.child({ function: context.functionName, invocationId: context.invocationId }) };
}
