/**
 * Rotor's Service Bus emulator: an AMQP 1.0 broker that the real
 * `@azure/service-bus` 7.9 client works against unchanged, given the
 * connection string this returns (`UseDevelopmentEmulator=true`, plain TCP).
 * Local stack and tests only; never deployed.
 */
import type { Server } from 'node:http';
import { z } from 'zod';
import { createAdmin, serveAdmin, type ServiceBusEmulatorAdmin } from './admin.js';
import { ServiceBusBroker } from './broker.js';
import { emulatorErrorCodes, ServiceBusEmulatorError } from './errors.js';
import { ServiceBusStateFile } from './persistence.js';
import { parseQueueConfig } from './queue-config.js';

export type { QueueDescription, ServiceBusEmulatorAdmin } from './admin.js';
export { amqpConditions, emulatorErrorCodes, isServiceBusEmulatorError, ServiceBusEmulatorError } from './errors.js';
export type { EmulatorErrorCode } from './errors.js';
export { parseQueueConfig, queueConfigSchema } from './queue-config.js';
export type { QueueConfig, QueueConfigInput } from './queue-config.js';
export type { ExpireLocksSelector, QueueCounters } from './queue.js';
export { deadLetterReasons } from './queue.js';
export { rotorQueues, rotorStepQueue } from './rotor-queues.js';

const optionsSchema = z.strictObject({
  /** Interface to listen on. Loopback by default: the emulator has no real authentication. */
  host: z.string().min(1).default('127.0.0.1'),
  /** AMQP port; 0 (the default) picks a free one. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Queues to create at start. */
  queues: z.array(z.unknown()).default([]),
  /** The key name and key a client must sign its SAS tokens with (Microsoft's emulator uses these values). */
  sharedAccessKeyName: z.string().min(1).default('RootManageSharedAccessKey'),
  sharedAccessKey: z.string().min(1).default('SAS_KEY_VALUE'),
  /** Serve the admin calls over HTTP on loopback, on an ephemeral port. */
  adminHttp: z.boolean().default(true),
  /** How often time-driven work runs (activations, lock and message expiry). */
  tickIntervalMs: z.number().int().min(5).max(1000).default(50),
  /** Keep the queues in `<dataDir>/servicebus.json` across restarts (see README, "Persistence"); unset: in memory only. */
  dataDir: z.string().min(1).optional(),
  /** With `dataDir`: fsync each save, so it survives a power cut as well as a killed process. */
  fsync: z.boolean().default(true),
});

export type ServiceBusEmulatorOptions = z.input<typeof optionsSchema>;

export interface ServiceBusEmulator {
  /** For `new ServiceBusClient(connectionString)`. */
  readonly connectionString: string;
  readonly host: string;
  readonly port: number;
  /** Base URL of the HTTP admin surface, when `adminHttp` is on. */
  readonly adminUrl: string | undefined;
  readonly admin: ServiceBusEmulatorAdmin;
  /** Closes every connection, timer and listening socket. */
  stop(): Promise<void>;
}

export async function startServiceBusEmulator(options: ServiceBusEmulatorOptions = {}): Promise<ServiceBusEmulator> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(options)';
    throw new ServiceBusEmulatorError(emulatorErrorCodes.invalidOptions, `Service Bus emulator options are invalid: ${field} ${issue?.message ?? 'is malformed'}`, { field });
  }
  const o = parsed.data;
  const queues = o.queues.map((q, i) => {
    try {
      return parseQueueConfig(q);
    } catch (error) {
      if (error instanceof ServiceBusEmulatorError) {
        throw new ServiceBusEmulatorError(error.code, error.message.replace('Queue configuration', `queues.${i}`), { field: `queues.${i}.${error.field ?? ''}`, cause: error });
      }
      throw error;
    }
  });

  const stateFile = o.dataDir === undefined ? undefined : new ServiceBusStateFile(o.dataDir, o.fsync);
  const broker = new ServiceBusBroker({
    credentials: { keyName: o.sharedAccessKeyName, key: o.sharedAccessKey },
    tickIntervalMs: o.tickIntervalMs,
    ...(stateFile === undefined ? {} : { stateFile }),
  });
  for (const queue of queues) broker.createQueue(queue);
  const saved = stateFile?.load();
  if (saved !== undefined) broker.restoreState(saved);
  const admin = createAdmin(broker);
  const port = await broker.listen(o.host, o.port);
  let adminServer: Server | undefined;
  let adminUrl: string | undefined;
  if (o.adminHttp) {
    try {
      ({ url: adminUrl, server: adminServer } = await serveAdmin(admin, '127.0.0.1'));
    } catch (error) {
      await broker.close();
      throw error;
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    connectionString: `Endpoint=sb://${o.host}:${port};SharedAccessKeyName=${o.sharedAccessKeyName};SharedAccessKey=${o.sharedAccessKey};UseDevelopmentEmulator=true`,
    host: o.host,
    port,
    adminUrl,
    admin,
    stop() {
      stopped ??= (async () => {
        if (adminServer !== undefined) {
          const server = adminServer;
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        await broker.close();
      })();
      return stopped;
    },
  };
}
