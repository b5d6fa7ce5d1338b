import { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotorQueues, rotorStepQueue, startServiceBusEmulator, type ServiceBusEmulator } from '../../emulators/servicebus/index.js';
import { createRotationStepsHandler } from '../../functions/rotationSteps.js';
import { serviceBusTransport, type StepTransport } from '../helpers/e2e-transport.js';

let emulator: ServiceBusEmulator;
let transport: StepTransport;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({ queues: [...rotorQueues] });
  transport = serviceBusTransport({
    connectionString: emulator.connectionString,
    queueName: rotorStepQueue.name,
    counters: () => {
      const c = emulator.admin.getCounters(rotorStepQueue.name);
      return { duplicatesDropped: c.duplicatesDropped, waiting: c.active + c.scheduled, deadLettered: c.deadLetterQueue };
    },
  });
});

afterAll(async () => {
  await transport.stop();
  await emulator.stop();
});

describe('a step message the handler cannot parse', () => {
  it('is thrown on every delivery until Service Bus dead-letters it, and never reaches the engine', async () => {
    // Prepare
    const client = new ServiceBusClient(emulator.connectionString);
    const sender = client.createSender(rotorStepQueue.name);
    await sender.sendMessages({ body: { rotationId: 'r-1', step: 'teleport', attempt: 1 }, sessionId: 'kv.vault.azure.net/x', messageId: 'poison-1' });
    await sender.close();
    await client.close();
    let engineCalls = 0;
    const handle = createRotationStepsHandler(() => {
      engineCalls += 1;
      return Promise.reject(new Error('the engine must not be reached'));
    });
    const context = new InvocationContext({ functionName: 'rotationSteps', logHandler: () => undefined });

    // Act
    await transport.deliverAll((body) => handle(body, context), { until: () => Promise.resolve(transport.counters().deadLettered === 1), timeoutMs: 20_000 });

    // Assess
    expect(engineCalls).toBe(0);
    const counters = emulator.admin.getCounters(rotorStepQueue.name);
    expect(counters.delivered).toBe(rotorStepQueue.maxDeliveryCount);
    expect(counters.deadLetterQueue).toBe(1);
  });
});
