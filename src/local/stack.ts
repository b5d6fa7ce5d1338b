import { BlobServiceClient } from '@azure/storage-blob';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { rotorStepQueue } from '../../emulators/servicebus/index.js';
import { startEmulatorStack, type EmulatorStack } from '../../emulators/stack.js';
import { composeRotor, useRotor, type Rotor } from '../app/compose.js';
import { createConsumerGatewayFromOptions } from '../consumers/gateway.js';
import { loadSettings } from '../config/index.js';
import { keyVaultClientOptions } from '../keyvault/client-options.js';
import { createEventGridNotifier } from '../notify/event-grid-notifier.js';
import type { Logger } from '../observability/logger.js';
import { radarOnGraphStandIn } from '../radar/local.js';
import { provideRadarServices } from '../radar/services.js';
import type { EngineSettings } from '../rotation/engine.js';
import { createRandomRotator } from '../rotators/random/random-rotator.js';
import type { Rotator } from '../rotation/rotator.js';
import { startAzuriteBlob, type LocalAzurite } from './azurite.js';
import { persistentOptions, portOf, retryWhilePortBusy, type StackDataDir } from './data-dir.js';
import { rotorFunctions } from './catalogue.js';
import { keyVaultResolver } from './consumer-apps/key-vault-resolver.js';
import { startDemoConsumerApp, type DemoConsumerApp } from './demo/consumer-app.js';
import { COMPRESSED_DAY_MS, startRevokeDemo, type RevokeDemo } from './demo/revoke-consumers.js';
import { demoConsumerModes, seedDemoSecrets, type SeededSecret } from './demo/seed.js';
import { readServiceBusHostSettings, type ServiceBusHostSettings } from './host-json.js';
import { startLocalHost, type LocalHost } from './host.js';
import type { RedeliveryPolicy } from '../queue/step-redelivery.js';
import { localIdentity } from './scenarios/ground.js';
import { startScenarioServices, type ScenarioEndpoints, type ScenarioServices } from './scenarios/index.js';

/**
 * The whole of Rotor on one machine: the Key Vault, Service Bus and Event
 * Grid emulators, Azurite for the ledger, and the local Functions host running
 * the same registrations Azure runs, wired with the app settings Azure would
 * give them. Key Vault's events reach the intake through an Event Grid
 * subscription, as in Azure. `npm start`, `npm run demo` and the end-to-end
 * tests all start this.
 */

export interface LocalStackOptions {
  readonly log: Logger;
  /** Seed the demo secrets and start the demo consumer app. */
  readonly demo?: boolean;
  /** Port of the Functions host (0: any free port). */
  readonly port?: number;
  /** `manual`: the sweep runs only through `host.runTimer('sweep')` (tests). */
  readonly timers?: 'schedule' | 'manual';
  /** Default every minute locally, so a missed event is picked up while you watch. */
  readonly sweepSchedule?: string;
  /** `ROTOR_STALL_AFTER`: default two minutes locally (the step queue's lock is one), so a message lost to a kill is sent again soon. */
  readonly stallAfter?: string;
  /** Engine timings; locally retries back off in fractions of a second instead of seconds. */
  readonly engineSettings?: Partial<EngineSettings>;
  /** Event Grid retry waits are multiplied by this (1 = as the service). */
  readonly eventGridRetryTimeScale?: number;
  readonly keyVaultThrottle?: boolean;
  /** `ROTOR_VAULT_BUDGET` (default 0.9 of Key Vault's limits, as in Azure; the throughput bench sets `off` with the throttle off). */
  readonly vaultBudget?: string;
  /** The ledger's blob client (default: Azurite's connection string); tests put a fault proxy in between. */
  readonly ledgerClient?: (azurite: LocalAzurite) => BlobServiceClient;
  /** Backoff of steps whose infrastructure failed (default: as in Azure). */
  readonly redeliveryPolicy?: RedeliveryPolicy;
  /**
   * `compose`: all seven rotators, against local stand-ins (ARM/Graph, PostgreSQL,
   * the webhook receiver, a business-events topic); `seed`: also one managed
   * secret per rotator with its live consumer. Default: the random rotator only.
   */
  readonly scenarios?: 'compose' | 'seed';
  /** Key Vault call retry delays (default Key Vault's documented 1-16 s); tests that inject vault faults shorten them. */
  readonly keyVaultBackoffMs?: readonly number[];
  /** Keep the vault, ledger, queues, ports and keys here across restarts (`npm start -- --data-dir`); unset: all in memory. */
  readonly dataDir?: StackDataDir;
  /** Rotators the host runs with; default the random rotator (the Azure ones need ARM and Graph). */
  readonly rotators?: readonly Rotator[];
  /** Lock duration of the step queue (default 60 s, as in Azure; the chaos suite uses Azure's minimum, 5 s). */
  readonly stepQueueLockDurationMs?: number;
  /** Overrides of host.json's Service Bus settings (the throughput bench sets 0 sessions to time the intake alone). */
  readonly serviceBusHost?: Partial<ServiceBusHostSettings>;
}

export interface LocalStackEndpoints {
  readonly api: { readonly baseUrl: string; readonly functionKey: string; readonly systemKey: string };
  readonly functions: readonly string[];
  readonly eventGridWebhook: string;
  readonly keyVault: { readonly url: string; readonly vaultName: string; readonly caCertPath: string | undefined; readonly admin: string };
  readonly serviceBus: { readonly connectionString: string; readonly stepQueue: string; readonly admin: string | undefined };
  readonly eventGrid: { readonly url: string; readonly topicEndpoint: string; readonly topicKey: string; readonly admin: string };
  readonly ledger: { readonly blobEndpoint: string; readonly connectionString: string; readonly container: string };
  readonly demo?: { readonly consumerUrl: string; readonly secrets: readonly SeededSecret[] };
  readonly scenarios?: ScenarioEndpoints;
  /** With `demo` and seeded scenarios: the consumers of the revoke demo (issue #13). */
  readonly consumers?: { readonly httpsApp: string; readonly secrets: readonly { readonly name: string; readonly declared: boolean; readonly site: string; readonly entries: readonly string[] }[] };
  /** The app settings Rotor runs with (what `local.settings.json` would hold). */
  readonly settings: Readonly<Record<string, string>>;
}

export interface LocalStack {
  readonly host: LocalHost;
  readonly emulators: EmulatorStack;
  readonly azurite: LocalAzurite;
  readonly rotor: Rotor;
  readonly consumer?: DemoConsumerApp;
  /** With `scenarios`: the stand-ins, and the seeded scenarios with their consumers. */
  readonly scenarios?: ScenarioServices;
  /**
   * With `demo` and seeded scenarios: two PostgreSQL logins rotated with revoke,
   * each used by an App Service site (ARM stand-in) and an https app; one
   * declares them in `rotor-consumers`, one does not.
   */
  readonly revokeDemo?: RevokeDemo;
  endpoints(): LocalStackEndpoints;
  stop(): Promise<void>;
}

export const INTAKE_SUBSCRIPTION = 'rotor-intake';

const localEngineSettings: Partial<EngineSettings> = {
  backoff: { baseMs: 250, maxMs: 2_000 },
  // A lock whose start was killed before its record is broken by the next start after 2 minutes, as ROTOR_STALL_AFTER here.
  orphanLockMs: 2 * 60_000,
};

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const persisted = persistentOptions(options.dataDir);
    const emulators = await retryWhilePortBusy(() =>
      startEmulatorStack({
        keyVault: { ...(options.keyVaultThrottle === false ? { throttle: false } : {}), ...persisted?.keyVault },
        eventGrid: { retryTimeScale: options.eventGridRetryTimeScale ?? 1, ...persisted?.eventGrid },
        serviceBus: { ...persisted?.serviceBus, queues: [{ ...rotorStepQueue, ...(options.stepQueueLockDurationMs === undefined ? {} : { lockDurationMs: options.stepQueueLockDurationMs }) }] },
      }),
    );
    cleanups.push(() => emulators.stop());
    const azurite = await retryWhilePortBusy(() => startAzuriteBlob(persisted?.azurite));
    cleanups.push(() => azurite.stop());

    const vaultUrl = new URL(emulators.keyVault.url).origin;
    const env: Record<string, string> = {
      ServiceBusConnection: emulators.serviceBus.connectionString,
      LedgerStorage: azurite.connectionString,
      ROTOR_STEP_QUEUE: 'rotation-steps',
      ROTOR_LEDGER_CONTAINER: 'rotor-ledger',
      ROTOR_ALLOWED_VAULTS: vaultUrl,
      ROTOR_NOTIFY_TOPIC_ENDPOINT: emulators.eventGrid.topicEndpoint,
      ROTOR_NOTIFY_TOPIC_KEY: emulators.eventGrid.topicKey,
      ROTOR_SWEEP_SCHEDULE: options.sweepSchedule ?? '0 * * * * *',
      ROTOR_EXPIRY_HORIZON: 'P30D',
      ROTOR_STALL_AFTER: options.stallAfter ?? 'PT2M',
      ROTOR_LOG_LEVEL: 'info',
      ...(options.vaultBudget === undefined ? {} : { ROTOR_VAULT_BUDGET: options.vaultBudget }),
      // Signs nudges to https consumers (docs/operations.md, "Consumers"); a local-only key.
      ROTOR_CONSUMER_SIGNING_KEY: 'local-consumer-signing-key-0123456789',
    };
    const settings = loadSettings(env);
    const scenarios =
      options.scenarios === undefined
        ? undefined
        : await startScenarioServices({
            log: options.log,
            // The stand-in's App Service sites resolve their Key Vault references in this vault, as a site's identity
            // would: when created, when refreshed, and on App Service's 24-hour refetch (compressed).
            consumerSites: {
              keyVault: { url: vaultUrl, name: emulators.keyVault.vaultName, resolve: keyVaultResolver(createEmulatorSecretClient(emulators.keyVault, { role: 'user' })) },
              referenceRefetchIntervalMs: COMPRESSED_DAY_MS,
              referenceRefreshDelayMs: 200,
            },
          });
    if (scenarios !== undefined) cleanups.push(() => scenarios.stop());
    const rotor = composeRotor({
      settings,
      logger: options.log,
      secretClientFor: () => createEmulatorSecretClient(emulators.keyVault, { clientOptions: keyVaultClientOptions() }),
      notifier: createEventGridNotifier({ endpoint: emulators.eventGrid.topicEndpoint, credential: { key: emulators.eventGrid.topicKey }, log: options.log }),
      // The Azure, database and webhook rotators run against the scenario stand-ins when they are up.
      rotators: options.rotators ?? [createRandomRotator(), ...(scenarios?.rotators ?? [])],
      engineSettings: { ...localEngineSettings, ...options.engineSettings },
      // appservice:/containerapp: consumers are nudged through the ARM stand-in (as ARM in Azure), https ones directly.
      ...(scenarios === undefined
        ? {}
        : {
            consumers: createConsumerGatewayFromOptions({
              credential: localIdentity,
              armEndpoint: scenarios.ground.standIn.armEndpoint,
              ca: scenarios.ground.ca,
              ...(settings.consumerSigningKey === undefined ? {} : { signingKey: settings.consumerSigningKey }),
            }),
          }),
      ...(options.ledgerClient === undefined ? {} : { blobServiceClient: options.ledgerClient(azurite) }),
      ...(options.redeliveryPolicy === undefined ? {} : { redeliveryPolicy: options.redeliveryPolicy }),
      ...(options.keyVaultBackoffMs === undefined ? {} : { keyVaultBackoffMs: options.keyVaultBackoffMs }),
    });
    cleanups.push(() => rotor.close());
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(settings.ledgerContainer).createIfNotExists();
    useRotor(rotor);
    cleanups.push(() => Promise.resolve(useRotor(undefined)));
    if (scenarios !== undefined) {
      // The expiry radar reads the app registrations from the same Graph stand-in as the Entra rotator.
      provideRadarServices(radarOnGraphStandIn(rotor, scenarios.ground.standIn));
      cleanups.push(() => Promise.resolve(provideRadarServices(undefined)));
    }

    const startHost = (): Promise<LocalHost> => startLocalHost({
      functions: rotorFunctions,
      env,
      log: options.log,
      port: options.port ?? 0,
      timers: options.timers ?? 'schedule',
      // host.json's session settings, so that the local host pulls sessions as Azure's does.
      serviceBus: { ...readServiceBusHostSettings(), ...options.serviceBusHost },
      ...persisted?.host,
    });
    const host = persisted === undefined ? await startHost() : await retryWhilePortBusy(startHost);
    cleanups.push(() => host.stop());

    await emulators.eventGrid.admin.createSubscription({
      name: INTAKE_SUBSCRIPTION,
      endpointUrl: host.eventGridWebhookUrl('keyVaultEvents'),
      eventDeliverySchema: 'EventGridSchema',
      filter: { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'] },
    });

    let consumer: DemoConsumerApp | undefined;
    let seeded: SeededSecret[] = [];
    if (options.demo === true) {
      const reader = createEmulatorSecretClient(emulators.keyVault, { role: 'user' });
      consumer = await retryWhilePortBusy(() => startDemoConsumerApp({ client: reader, secrets: demoConsumerModes, port: persisted?.consumerPort ?? 0 }));
      cleanups.push(() => consumer!.stop());
      const earlier = options.dataDir?.identity.seeded;
      seeded = earlier === undefined ? await seedDemoSecrets(createEmulatorSecretClient(emulators.keyVault), consumer) : (earlier as SeededSecret[]);
    }
    let revokeDemo: RevokeDemo | undefined;
    if (options.scenarios === 'seed' && scenarios !== undefined) {
      const clients = { admin: createEmulatorSecretClient(emulators.keyVault), reader: createEmulatorSecretClient(emulators.keyVault, { role: 'user' }) };
      await scenarios.seed(clients);
      if (options.demo === true && settings.consumerSigningKey !== undefined) {
        revokeDemo = await startRevokeDemo({ ground: scenarios.ground, ...clients, signingKey: settings.consumerSigningKey });
        cleanups.push(() => revokeDemo!.stop());
      }
    }
    options.dataDir?.record({
      ports: {
        keyVault: portOf(emulators.keyVault.url),
        eventGrid: portOf(emulators.eventGrid.url),
        serviceBus: emulators.serviceBus.port,
        azurite: portOf(azurite.blobEndpoint),
        host: portOf(host.url),
        ...(consumer === undefined ? {} : { consumer: portOf(consumer.url) }),
      },
      ...(options.demo === true ? { seeded } : {}),
    });

    return {
      host,
      emulators,
      azurite,
      rotor,
      ...(consumer === undefined ? {} : { consumer }),
      ...(scenarios === undefined ? {} : { scenarios }),
      ...(revokeDemo === undefined ? {} : { revokeDemo }),
      endpoints: () => ({
        api: { baseUrl: host.apiUrl, functionKey: host.functionKey, systemKey: host.systemKey },
        functions: rotorFunctions.map((f) => f.name),
        eventGridWebhook: host.eventGridWebhookUrl('keyVaultEvents'),
        keyVault: emulators.endpoints().keyVault,
        serviceBus: { connectionString: emulators.serviceBus.connectionString, stepQueue: settings.stepQueue, admin: emulators.serviceBus.adminUrl },
        eventGrid: emulators.endpoints().eventGrid,
        ledger: { blobEndpoint: azurite.blobEndpoint, connectionString: azurite.connectionString, container: settings.ledgerContainer },
        ...(consumer === undefined ? {} : { demo: { consumerUrl: consumer.url, secrets: seeded } }),
        ...(scenarios === undefined ? {} : { scenarios: scenarios.endpoints() }),
        ...(revokeDemo === undefined
          ? {}
          : { consumers: { httpsApp: revokeDemo.httpsUrl, secrets: revokeDemo.secrets.map((s) => ({ name: s.name, declared: s.declared, site: s.site, entries: s.entries })) } }),
        settings: env,
      }),
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
