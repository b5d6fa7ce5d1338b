import { startEventGridEmulator, type EventGridEmulator, type EventGridEmulatorOptions } from './eventgrid/index.js';
import { startKeyVaultEmulator, type KeyVaultEmulator, type KeyVaultEmulatorOptions } from './keyvault/index.js';
import { rotorQueues, startServiceBusEmulator, type ServiceBusEmulator, type ServiceBusEmulatorOptions } from './servicebus/index.js';

/**
 * Every emulator Rotor needs, started together and wired as Azure wires the
 * services: Key Vault's events flow into the Event Grid emulator's system topic,
 * which delivers them to whatever subscriptions are created on it. Used by
 * `npm run emulators`, the local stack and the end-to-end tests.
 */
export interface EmulatorStackOptions {
  readonly keyVault?: Omit<KeyVaultEmulatorOptions, 'onEvent'>;
  readonly eventGrid?: EventGridEmulatorOptions;
  /** Rotor's own queues (`rotorQueues`) unless `queues` is given. */
  readonly serviceBus?: ServiceBusEmulatorOptions;
}

export interface EmulatorStack {
  readonly keyVault: KeyVaultEmulator;
  readonly eventGrid: EventGridEmulator;
  readonly serviceBus: ServiceBusEmulator;
  /** Everything a client needs to reach the stack; printed as JSON by `npm run emulators`. */
  endpoints(): EmulatorEndpoints;
  stop(): Promise<void>;
}

export interface EmulatorEndpoints {
  readonly keyVault: { readonly url: string; readonly vaultName: string; readonly caCertPath: string | undefined; readonly admin: string };
  readonly eventGrid: {
    readonly url: string;
    readonly topicEndpoint: string;
    readonly topicKey: string;
    readonly systemTopic: string;
    readonly admin: string;
  };
  readonly serviceBus: { readonly connectionString: string; readonly queues: readonly string[]; readonly admin: string };
}

export async function startEmulatorStack(options: EmulatorStackOptions = {}): Promise<EmulatorStack> {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const eventGrid = await startEventGridEmulator(options.eventGrid ?? {});
    started.push(eventGrid);
    const keyVault = await startKeyVaultEmulator({ ...options.keyVault, onEvent: eventGrid.systemTopicSink });
    started.push(keyVault);
    const serviceBus = await startServiceBusEmulator({ queues: [...rotorQueues], ...options.serviceBus });
    started.push(serviceBus);
    return composeStack(keyVault, eventGrid, serviceBus);
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
}

function composeStack(keyVault: KeyVaultEmulator, eventGrid: EventGridEmulator, serviceBus: ServiceBusEmulator): EmulatorStack {
  return {
    keyVault,
    eventGrid,
    serviceBus,
    endpoints: () => ({
      keyVault: {
        url: keyVault.url,
        vaultName: keyVault.vaultName,
        caCertPath: keyVault.caCertPath,
        admin: `${keyVault.url}/_admin`,
      },
      eventGrid: {
        url: eventGrid.url,
        topicEndpoint: eventGrid.topicEndpoint,
        topicKey: eventGrid.topicKey,
        systemTopic: eventGrid.systemTopicName,
        admin: `${eventGrid.url}/_admin`,
      },
      serviceBus: {
        connectionString: serviceBus.connectionString,
        queues: serviceBus.admin.listQueues().map((q) => q.name),
        admin: serviceBus.adminUrl ?? '',
      },
    }),
    stop: async () => {
      await Promise.allSettled([keyVault.stop(), eventGrid.stop(), serviceBus.stop()]);
    },
  };
}
