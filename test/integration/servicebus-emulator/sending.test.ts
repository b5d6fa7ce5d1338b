import { isServiceBusError, ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

async function errorOf(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

describe.concurrent('Service Bus emulator: connecting and sending', () => {
  it('carries body, properties and broker stamps from a sender to a receiver', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    const before = Date.now();

    // Act
    await client.createSender(queue).sendMessages({
      body: { step: 'begin', rotation: 'r-1' },
      messageId: 'm-1',
      correlationId: 'c-1',
      subject: 'begin',
      contentType: 'application/json',
      applicationProperties: { attempt: 3, kind: 'step' },
      timeToLive: 60_000,
    });
    const [received] = await client.createReceiver(queue).receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(received).toBeDefined();
    expect(received!.body).toEqual({ step: 'begin', rotation: 'r-1' });
    expect(received!.messageId).toBe('m-1');
    expect(received!.correlationId).toBe('c-1');
    expect(received!.subject).toBe('begin');
    expect(received!.contentType).toBe('application/json');
    expect(received!.applicationProperties).toEqual({ attempt: 3, kind: 'step' });
    expect(received!.sequenceNumber!.toNumber()).toBeGreaterThan(0);
    expect(received!.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(received!.expiresAtUtc!.getTime()).toBe(received!.enqueuedTimeUtc!.getTime() + 60_000);
    expect(received!.deliveryCount).toBe(0);
  });

  it('assigns a message id when the sender sets none', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();

    // Act
    await client.createSender(queue).sendMessages([{ body: 'a' }, { body: 'b' }]);
    const received = await client.createReceiver(queue, { receiveMode: 'receiveAndDelete' }).receiveMessages(2, { maxWaitTimeInMs: 5000 });

    // Assess
    const ids = received.map((m) => m.messageId);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(typeof id === 'string' && id.length > 0).toBe(true);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('unpacks a batch into separate messages with rising sequence numbers, in order', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    const sender = client.createSender(queue);
    const batch = await sender.createMessageBatch();
    for (const body of ['one', 'two', 'three']) expect(batch.tryAddMessage({ body })).toBe(true);

    // Act
    await sender.sendMessages(batch);
    const received = await client.createReceiver(queue).receiveMessages(3, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(received.map((m) => m.body)).toEqual(['one', 'two', 'three']);
    const sequence = received.map((m) => m.sequenceNumber!.toNumber());
    expect(sequence[1]).toBe(sequence[0]! + 1);
    expect(sequence[2]).toBe(sequence[1]! + 1);
    expect(h.emulator.admin.getCounters(queue).sent).toBe(3);
  });

  it('advertises the queue maximum message size on the sender link', async () => {
    // Prepare
    const queue = h.queue({ maxMessageSizeBytes: 64 * 1024 });

    // Act
    const batch = await h.client().createSender(queue).createMessageBatch();

    // Assess
    expect(batch.maxSizeInBytes).toBe(64 * 1024);
  });

  it('refuses a message over the size limit with MessageSizeExceeded and stores nothing', async () => {
    // Prepare
    const queue = h.queue({ maxMessageSizeBytes: 64 * 1024 });
    const sender = h.impatientClient().createSender(queue);

    // Act
    const error = await errorOf(() => sender.sendMessages({ body: Buffer.alloc(70 * 1024, 1) }));

    // Assess
    expect(isServiceBusError(error) && error.code).toBe('MessageSizeExceeded');
    expect(h.emulator.admin.getCounters(queue).sent).toBe(0);
  });

  it('refuses a message without session id on a session queue, as the service does', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const sender = h.impatientClient().createSender(queue);

    // Act
    const error = await errorOf(() => sender.sendMessages({ body: 'no session' }));

    // Assess
    expect(isServiceBusError(error)).toBe(true);
    expect((error as Error).message).toMatch(/SessionId was not set/);
    expect(h.emulator.admin.getCounters(queue).sent).toBe(0);
  });

  it('accepts a duplicate message id within the window and drops it silently', async () => {
    // Prepare
    const queue = h.queue({ duplicateDetectionWindowMs: 60_000 });
    const client = h.client();
    const sender = client.createSender(queue);

    // Act
    await sender.sendMessages({ body: 'first', messageId: 'step-1' });
    await sender.sendMessages({ body: 'again', messageId: 'step-1' });
    await sender.sendMessages([{ body: 'in a batch', messageId: 'step-1' }, { body: 'other', messageId: 'step-2' }]);
    const received = await client.createReceiver(queue).receiveMessages(10, { maxWaitTimeInMs: 300 });

    // Assess
    expect(received.map((m) => m.body)).toEqual(['first', 'other']);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ sent: 2, duplicatesDropped: 2 });
  });

  it('accepts the same message id again once the duplicate-detection window has passed', async () => {
    // Prepare
    const queue = h.queue({ duplicateDetectionWindowMs: 200 });
    const sender = h.client().createSender(queue);
    await sender.sendMessages({ body: 'first', messageId: 'x' });

    // Act
    await new Promise((resolve) => setTimeout(resolve, 400));
    await sender.sendMessages({ body: 'later', messageId: 'x' });

    // Assess
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ sent: 2, duplicatesDropped: 0 });
  });

  it('answers a queue that does not exist with MessagingEntityNotFound', async () => {
    // Act
    const error = await errorOf(() => h.impatientClient().createSender('no-such-queue').sendMessages({ body: 'x' }));

    // Assess
    expect(isServiceBusError(error) && error.code).toBe('MessagingEntityNotFound');
  });

  it('refuses a client whose SAS key is wrong with UnauthorizedAccess', async () => {
    // Prepare
    const queue = h.queue();
    const wrongKey = h.emulator.connectionString.replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=not-the-key');
    const client = new ServiceBusClient(wrongKey, { retryOptions: { maxRetries: 0, timeoutInMs: 3000 } });

    // Act
    const error = await errorOf(() => client.createSender(queue).sendMessages({ body: 'x' }));
    await client.close();

    // Assess
    expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
    expect(h.emulator.admin.getCounters(queue).sent).toBe(0);
  });
});

describe.concurrent('Service Bus emulator: HTTP admin', () => {
  it('creates a queue over HTTP that the client can then use', async () => {
    // Prepare
    const name = `http-${Date.now()}`;

    // Act
    const created = await fetch(`${h.emulator.adminUrl}/queues/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requiresSession: true, lockDurationMs: 5000 }),
    });
    const client = h.client();
    await client.createSender(name).sendMessages({ body: 'via http', sessionId: 's' });
    const counters = (await (await fetch(`${h.emulator.adminUrl}/queues/${name}/counters`)).json()) as { sent: number };

    // Assess
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name, requiresSession: true, lockDurationMs: 5000, maxDeliveryCount: 10 });
    expect(counters.sent).toBe(1);
  });

  it.each([
    { body: { lockDurationMs: 600_000 }, field: 'lockDurationMs' },
    { body: { maxDeliveryCount: 0 }, field: 'maxDeliveryCount' },
    { body: { requiresSession: 'yes' }, field: 'requiresSession' },
    { body: { colour: 'blue' }, field: '(queue)' },
  ])('answers a bad queue configuration with problem+json naming $field', async ({ body, field }) => {
    // Act
    const response = await fetch(`${h.emulator.adminUrl}/queues/bad-${Date.now()}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { field: string; detail: string };
    expect(problem.field).toBe(field);
  });

  it('answers an unknown queue with 404 and an existing name with 409', async () => {
    // Prepare
    const queue = h.queue();

    // Act
    const missing = await fetch(`${h.emulator.adminUrl}/queues/not-there/counters`);
    const again = await fetch(`${h.emulator.adminUrl}/queues/${queue.toUpperCase()}`, { method: 'PUT', body: '{}' });

    // Assess
    expect(missing.status).toBe(404);
    expect(again.status).toBe(409);
  });
});
