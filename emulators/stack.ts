import { startEventGridEmulator, type EventGridEmulator, type EventGridEmulatorOptions } from './eventgrid/index.js';
import { startKeyVaultEmulator, type KeyVaultEmulator, type KeyVaultEmulatorOptions } from './keyvault/index.js';

/**
 * Every emulator Rotor needs, started together and wired as Azure wires the
 * services: Key Vault's events flow into the Event Grid emulator's system topic,
 * which delivers them to whatever subscriptions are created on it. Used by
 * `npm run emulators`, the local stack and the end-to-end tests.
 */
export interface EmulatorStackOptions {
  readonly keyVault?: Omit<KeyVaultEmulatorOptions, 'onEvent'>;
  readonly eventGrid?: EventGridEmulatorOptions;
}

export interface EmulatorStack {
  readonly keyVault: KeyVaultEmulator;
  readonly eventGrid: EventGridEmulator;
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
}

export async function startEmulatorStack(options: EmulatorStackOptions = {}): Promise<EmulatorStack> {
  const eventGrid = await startEventGridEmulator(options.eventGrid ?? {});
  let keyVault: KeyVaultEmulator;
  try {
    keyVault = await startKeyVaultEmulator({ ...options.keyVault, onEvent: eventGrid.systemTopicSink });
  } catch (error) {
    await eventGrid.stop();
    throw error;
  }
  return {
    keyVault,
    eventGrid,
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
    }),
    stop: async () => {
      await Promise.allSettled([keyVault.stop(), eventGrid.stop()]);
    },
  };
}
