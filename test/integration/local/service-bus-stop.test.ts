import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../emulators/servicebus/index.js';
import { startLocalHost } from '../../../src/local/host.js';
import type { FunctionRegistration } from '../../../src/local/registrations.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';

/**
 * Stopping the local host under load: a step still running after the grace
 * does not hold the stop; its message goes back to Service Bus and the next
 * host runs it again.
 */

let emulator: ServiceBusEmulator;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ queues: [{ name: 'stop-under-test', requiresSession: true, maxDeliveryCount: 5, lockDurationMs: 60_000 }] });
});

afterAll(async () => {
  await emulator?.stop();
});

function stepsWith(handler: (body: unknown, deliveryCount: number) => Promise<void>): FunctionRegistration {
  return {
    name: 'steps',
    trigger: 'serviceBusQueue',
    options: {
      connection: 'ServiceBusConnection',
      queueName: 'stop-under-test',
      isSessionsEnabled: true,
      handler: (message, context) => handler(message, Number(context.triggerMetadata?.deliveryCount)),
    },
  };
}

describe('stopping the local host', () => {
  it('does not wait for a step that never ends, and its message is delivered again to the next host', async () => {
    // Prepare: a host whose step hangs for good.
    const env = { ServiceBusConnection: emulator.connectionString };
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = await startLocalHost({
      functions: [stepsWith(() => (started(), new Promise<void>(() => undefined)))],
      env,
      log: createLogger(createMemorySink()),
      serviceBus: { maxConcurrentSessions: 2, sessionIdleTimeoutMs: 100, stopGraceMs: 200 },
    });
    const client = new ServiceBusClient(emulator.connectionString);
    const sender = client.createSender('stop-under-test');
    await sender.sendMessages({ body: { n: 1 }, sessionId: 'kv/hanging', messageId: 'hanging-1' });
    await running;

    // Act: stop resolves although the step never will.
    await first.stop();
    const deliveries: number[] = [];
    let redelivered: () => void = () => undefined;
    const again = new Promise<void>((resolve) => (redelivered = resolve));
    const second = await startLocalHost({
      functions: [
        stepsWith((_, deliveryCount) => {
          deliveries.push(deliveryCount);
          redelivered();
          return Promise.resolve();
        }),
      ],
      env,
      log: createLogger(createMemorySink()),
      serviceBus: { maxConcurrentSessions: 2, sessionIdleTimeoutMs: 100 },
    });
    await again;
    await second.stop();
    await sender.close();
    await client.close();

    // Assess: abandoned, not lost, and not waiting out its lock.
    expect(deliveries).toEqual([2]);
  });
});
