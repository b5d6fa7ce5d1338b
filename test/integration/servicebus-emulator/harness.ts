import { randomUUID } from 'node:crypto';
import { ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';
import { startServiceBusEmulator, type QueueConfigInput, type ServiceBusEmulator } from '../../../emulators/servicebus/index.js';

/**
 * One emulator per test file, real `ServiceBusClient`s against it, and a fresh
 * queue per test so tests in a file cannot see each other's messages.
 */
export interface Harness {
  readonly emulator: ServiceBusEmulator;
  /** A client with the SDK's default retry policy. */
  client(options?: ServiceBusClientOptions): ServiceBusClient;
  /** A client that gives up at once: for tests that expect an error. */
  impatientClient(timeoutInMs?: number): ServiceBusClient;
  queue(config?: Omit<QueueConfigInput, 'name'>): string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const emulator = await startServiceBusEmulator({ adminHttp: true });
  const clients: ServiceBusClient[] = [];
  const client = (options?: ServiceBusClientOptions): ServiceBusClient => {
    const c = new ServiceBusClient(emulator.connectionString, options);
    clients.push(c);
    return c;
  };
  return {
    emulator,
    client,
    impatientClient: (timeoutInMs = 3000) => client({ retryOptions: { maxRetries: 0, retryDelayInMs: 10, timeoutInMs } }),
    queue(config = {}) {
      const name = `q-${randomUUID().slice(0, 8)}`;
      emulator.admin.createQueue({ ...config, name });
      return name;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await emulator.stop();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
