import { ServiceBusClient, type ServiceBusSender } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../emulators/servicebus/index.js';
import { startLocalHost, type LocalHost } from '../../../src/local/host.js';
import type { FunctionRegistration } from '../../../src/local/registrations.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';

/**
 * Service Bus triggers in the local host against the emulator, with the real
 * client: one session at a time per secret, in order; complete on success,
 * abandon on a throw until Service Bus dead-letters; a bounded number of
 * sessions at once; the dead-letter sub-queue as its own trigger.
 */

interface Seen {
  readonly session: string;
  readonly n: number;
  readonly deliveryCount: number;
}

const seen: Seen[] = [];
const deadLettered: { body: unknown; metadata: Record<string, unknown> }[] = [];
let active = 0;
let maxActive = 0;
const waiters: (() => void)[] = [];
const changed = (): void => waiters.splice(0).forEach((w) => w());
const waitFor = async (probe: () => boolean): Promise<void> => {
  while (!probe()) await new Promise<void>((resolve) => waiters.push(resolve));
};

const steps: FunctionRegistration = {
  name: 'steps',
  trigger: 'serviceBusQueue',
  options: {
    connection: 'ServiceBusConnection',
    queueName: '%STEP_QUEUE%',
    isSessionsEnabled: true,
    handler: async (message, context) => {
      const body = message as { n: number; poison?: boolean };
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        // Yield so that other sessions, if the host allowed them, would overlap this one.
        await new Promise((resolve) => setImmediate(resolve));
        seen.push({ session: String(context.triggerMetadata?.sessionId), n: body.n, deliveryCount: Number(context.triggerMetadata?.deliveryCount) });
        if (body.poison === true) throw new Error('poisoned step');
      } finally {
        active -= 1;
        changed();
      }
    },
  },
};

const deadLetters: FunctionRegistration = {
  name: 'deadLetters',
  trigger: 'serviceBusQueue',
  options: {
    connection: 'ServiceBusConnection',
    queueName: '%STEP_QUEUE%/$DeadLetterQueue',
    handler: (message, context) => {
      deadLettered.push({ body: message, metadata: { ...context.triggerMetadata } });
      changed();
    },
  },
};

let emulator: ServiceBusEmulator;
let host: LocalHost;
let client: ServiceBusClient;
let sender: ServiceBusSender;
const sink = createMemorySink();

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ queues: [{ name: 'steps-under-test', requiresSession: true, maxDeliveryCount: 3, lockDurationMs: 5_000 }] });
  host = await startLocalHost({
    functions: [steps, deadLetters],
    env: { ServiceBusConnection: emulator.connectionString, STEP_QUEUE: 'steps-under-test' },
    log: createLogger(sink),
    serviceBus: { maxConcurrentSessions: 2, sessionIdleTimeoutMs: 200 },
  });
  client = new ServiceBusClient(emulator.connectionString);
  sender = client.createSender('steps-under-test');
});

afterAll(async () => {
  await sender?.close();
  await client?.close();
  await host?.stop();
  await emulator?.stop();
});

describe('Service Bus triggers in the local host', () => {
  it('runs each session in order and never more sessions at once than allowed', async () => {
    // Prepare
    const sessions = ['kv/a', 'kv/b', 'kv/c', 'kv/d', 'kv/e'];
    const messages = sessions.flatMap((sessionId) => [1, 2, 3].map((n) => ({ body: { n }, sessionId })));

    // Act
    await sender.sendMessages(messages);
    await waitFor(() => seen.filter((s) => s.session.startsWith('kv/')).length >= messages.length);

    // Assess
    for (const session of sessions) expect(seen.filter((s) => s.session === session).map((s) => s.n)).toEqual([1, 2, 3]);
    expect(maxActive).toBeLessThanOrEqual(2);
  });

  it('abandons a message whose function throws until Service Bus dead-letters it, then hands it to the dead-letter trigger', async () => {
    await sender.sendMessages({ body: { n: 99, poison: true }, sessionId: 'kv/poison', messageId: 'poison-1' });

    await waitFor(() => deadLettered.length >= 1);

    expect(seen.filter((s) => s.session === 'kv/poison').map((s) => s.deliveryCount)).toEqual([1, 2, 3]);
    expect(deadLettered[0]?.body).toEqual({ n: 99, poison: true });
    // The shape the Node worker delivers in Azure: the reason only inside the
    // application properties, every key camel-cased (issue #14, item 5).
    expect(deadLettered[0]?.metadata).toMatchObject({
      messageId: 'poison-1',
      sessionId: 'kv/poison',
      applicationProperties: { deadLetterReason: 'MaxDeliveryCountExceeded', deadLetterErrorDescription: expect.stringMatching(/3 delivery attempts/) as unknown },
    });
    expect(deadLettered[0]?.metadata).not.toHaveProperty('deadLetterReason');
    expect(deadLettered[0]?.metadata).not.toHaveProperty('DeliveryCount');
    expect(sink.records.some((r) => r.message === 'Service Bus function threw; message abandoned')).toBe(true);
  });

  it('completes what succeeded and what the dead-letter trigger handled: both queues end empty', async () => {
    const empty = (): boolean => {
      const c = emulator.admin.getCounters('steps-under-test');
      return c.active === 0 && c.locked === 0 && c.deadLetterQueue === 0;
    };

    while (!empty()) await new Promise((resolve) => setTimeout(resolve, 20));

    expect(emulator.admin.getCounters('steps-under-test')).toMatchObject({ active: 0, locked: 0, deadLetterQueue: 0 });
  });
});
