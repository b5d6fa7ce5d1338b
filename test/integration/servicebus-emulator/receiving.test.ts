import { isServiceBusError } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sleep, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function errorOf(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

describe.concurrent('Service Bus emulator: peek-lock', () => {
  it('locks a received message until it is completed, then removes it', async () => {
    // Prepare
    const queue = h.queue({ lockDurationMs: 30_000 });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'work' });
    const receiver = client.createReceiver(queue);

    // Act
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const whileLocked = await client.createReceiver(queue).receiveMessages(1, { maxWaitTimeInMs: 300 });
    await receiver.completeMessage(message!);
    const afterComplete = await receiver.peekMessages(10);

    // Assess
    expect(message!.lockToken).toMatch(uuidPattern);
    expect(message!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(whileLocked).toEqual([]);
    expect(afterComplete).toEqual([]);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ delivered: 1, completed: 1, active: 0 });
  });

  it('recognises the lock token the SDK prints (delivery tag in .NET GUID byte order)', async () => {
    // Prepare
    const queue = h.queue({ lockDurationMs: 5_000 });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'renew me' });
    const receiver = client.createReceiver(queue);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const firstLockedUntil = message!.lockedUntilUtc!.getTime();

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    const renewedUntil = await receiver.renewMessageLock(message!);
    const expiredByToken = h.emulator.admin.expireLocks(queue, { lockToken: message!.lockToken! });

    // Assess
    expect(renewedUntil.getTime()).toBeGreaterThan(firstLockedUntil);
    expect(expiredByToken).toBe(1);
  });

  it('redelivers an abandoned message at once with its delivery count raised', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages([{ body: 'first' }, { body: 'second' }]);
    const receiver = client.createReceiver(queue);
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await receiver.abandonMessage(first!);
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(again!.body).toBe('first');
    expect(again!.sequenceNumber!.toNumber()).toBe(first!.sequenceNumber!.toNumber());
    expect(again!.deliveryCount).toBe(1);
    expect(again!.lockToken).not.toBe(first!.lockToken);
    expect(h.emulator.admin.getCounters(queue).abandoned).toBe(1);
  });

  it('dead-letters after maxDeliveryCount deliveries with MaxDeliveryCountExceeded', async () => {
    // Prepare
    const queue = h.queue({ maxDeliveryCount: 3 });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'poison', messageId: 'poison-1' });
    const receiver = client.createReceiver(queue);
    const counts: number[] = [];

    // Act
    for (let i = 0; i < 3; i += 1) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
      counts.push(m!.deliveryCount!);
      await receiver.abandonMessage(m!);
    }
    const leftInQueue = await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 });
    const [dead] = await client.createReceiver(queue, { subQueueType: 'deadLetter' }).receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(counts).toEqual([0, 1, 2]);
    expect(leftInQueue).toEqual([]);
    expect(dead!.messageId).toBe('poison-1');
    expect(dead!.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(dead!.deadLetterErrorDescription).toMatch(/3 delivery attempts/);
  });

  it('keeps the delivery count a message moves to the dead-letter queue with, and counts deliveries there too', async () => {
    // Prepare
    const queue = h.queue({ maxDeliveryCount: 3 });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'poison', messageId: 'poison-dlq' });
    const receiver = client.createReceiver(queue);
    for (let i = 0; i < 3; i += 1) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
      await receiver.abandonMessage(m!);
    }
    const deadLetters = client.createReceiver(queue, { subQueueType: 'deadLetter' });

    // Act
    const [first] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await deadLetters.abandonMessage(first!);
    const [second] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await deadLetters.abandonMessage(second!);
    const [third] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess: 3 deliveries before the move, then one more per dead-letter delivery, and never dead-lettered again
    expect([first!.deliveryCount, second!.deliveryCount, third!.deliveryCount]).toEqual([3, 4, 5]);
    expect(third!.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    await deadLetters.completeMessage(third!);
  });

  it('dead-letters on request with the reason and description given', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'unparseable', messageId: 'bad-1' });
    const receiver = client.createReceiver(queue);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await receiver.deadLetterMessage(message!, { deadLetterReason: 'UnparseableStep', deadLetterErrorDescription: 'body is not a step' });
    const deadLetters = client.createReceiver(queue, { subQueueType: 'deadLetter' });
    const [dead] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await deadLetters.completeMessage(dead!);

    // Assess
    expect(dead!.body).toBe('unparseable');
    expect(dead!.deadLetterReason).toBe('UnparseableStep');
    expect(dead!.deadLetterErrorDescription).toBe('body is not a step');
    // Delivered once before it moved; the service keeps that count (the JS SDK reports earlier deliveries).
    expect(dead!.deliveryCount).toBe(1);
    expect(await receiver.peekMessages(5)).toEqual([]);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ deadLettered: 1, deadLetterQueue: 0 });
  });

  it('keeps a deferred message out of normal receives until fetched by sequence number', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'later' });
    const receiver = client.createReceiver(queue);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await receiver.deferMessage(message!);
    const normalReceive = await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 });
    const [peeked] = await receiver.peekMessages(1, { fromSequenceNumber: message!.sequenceNumber! });
    const [deferred] = await receiver.receiveDeferredMessages(message!.sequenceNumber!);
    await receiver.completeMessage(deferred!);

    // Assess
    expect(normalReceive).toEqual([]);
    expect(peeked!.state).toBe('deferred');
    expect(deferred!.body).toBe('later');
    expect(deferred!.deliveryCount).toBe(1);
    expect(deferred!.lockToken).toMatch(uuidPattern);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ deferred: 1, completed: 1, deferredNow: 0 });
  });

  it('redelivers a message whose lock expired, and refuses its old lock with MessageLockLost', async () => {
    // Prepare
    const queue = h.queue({ lockDurationMs: 1000 });
    const client = h.impatientClient();
    await client.createSender(queue).sendMessages({ body: 'slow handler' });
    const receiver = client.createReceiver(queue, { maxAutoLockRenewalDurationInMs: 0 });
    const [stale] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await vi.waitFor(() => expect(h.emulator.admin.getCounters(queue).lockExpired).toBe(1), { timeout: 25_000, interval: 50 });
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const error = await errorOf(() => receiver.completeMessage(stale!));

    // Assess (the redelivered copy is left unsettled: its 1-s lock may well have run out by now on a busy
    // machine, and the queue is this test's own)
    expect(again!.sequenceNumber!.toNumber()).toBe(stale!.sequenceNumber!.toNumber());
    expect(again!.deliveryCount).toBe(1);
    expect(isServiceBusError(error) && error.code).toBe('MessageLockLost');
  });

  it('removes messages as they are delivered in receive-and-delete mode', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages([{ body: 1 }, { body: 2 }]);

    // Act
    const received = await client.createReceiver(queue, { receiveMode: 'receiveAndDelete' }).receiveMessages(2, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(received.map((m) => m.body)).toEqual([1, 2]);
    expect(received.every((m) => m.lockToken === undefined)).toBe(true);
    expect(await client.createReceiver(queue).peekMessages(5)).toEqual([]);
  });

  it('keeps delivering past 2,048 settled messages on one link', async () => {
    // Prepare: rhea keeps 2,048 unsettled deliveries per session unless the broker lets settled ones go.
    const queue = h.queue();
    const client = h.client();
    const sender = client.createSender(queue);
    const total = 2500;
    const messages = Array.from({ length: total }, (_, i) => ({ body: i }));
    for (let i = 0; i < total; i += 500) await sender.sendMessages(messages.slice(i, i + 500));
    const receiver = client.createReceiver(queue);
    let received = 0;

    // Act
    while (received < total) {
      const batch = await receiver.receiveMessages(500, { maxWaitTimeInMs: 2000 });
      if (batch.length === 0) break;
      await Promise.all(batch.map((m) => receiver.completeMessage(m)));
      received += batch.length;
    }

    // Assess
    expect(received).toBe(total);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ completed: total, active: 0 });
  });

  it('feeds subscribe(): completes on success and redelivers after a handler throws', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages([{ body: 'one' }, { body: 'two' }]);
    const receiver = client.createReceiver(queue);
    const handled: string[] = [];
    let failedOnce = false;

    // Act
    const subscription = receiver.subscribe(
      {
        processMessage: (m) => {
          handled.push(`${String(m.body)}#${m.deliveryCount}`);
          if (m.body === 'one' && !failedOnce) {
            failedOnce = true;
            return Promise.reject(new Error('transient'));
          }
          return Promise.resolve();
        },
        processError: () => Promise.resolve(),
      },
      { autoCompleteMessages: true, maxConcurrentCalls: 1 },
    );
    await vi.waitFor(() => expect(h.emulator.admin.getCounters(queue).completed).toBe(2), { timeout: 5000, interval: 20 });
    await subscription.close();

    // Assess
    expect(handled).toEqual(['one#0', 'one#1', 'two#0']);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ abandoned: 1, completed: 2, active: 0 });
  });

  it('leaves the body out of a peek that asks for omit-message-body, and only then', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: { step: 'verify' }, messageId: 'peek-omit', subject: 'verify', applicationProperties: { attempt: 2 } });
    const receiver = client.createReceiver(queue);

    // Act (the option is internal in the 7.9 typings; the SDK sends `omit-message-body: true` for it)
    const [withoutBody] = await receiver.peekMessages(1, { omitMessageBody: true } as Parameters<typeof receiver.peekMessages>[1]);
    const [withBody] = await receiver.peekMessages(1, { fromSequenceNumber: withoutBody!.sequenceNumber! }); // a peek moves the entity's cursor on

    // Assess
    expect(withoutBody!.body ?? undefined).toBeUndefined(); // the SDK decodes an absent body as null
    expect(withoutBody!.messageId).toBe('peek-omit');
    expect(withoutBody!.subject).toBe('verify');
    expect(withoutBody!.applicationProperties).toEqual({ attempt: 2 });
    expect(withBody!.body).toEqual({ step: 'verify' });
  });

  it('peeks in sequence order without locking or delivering', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages([{ body: 'p1' }, { body: 'p2' }, { body: 'p3' }]);
    const receiver = client.createReceiver(queue);

    // Act
    const firstTwo = await receiver.peekMessages(2);
    const rest = await receiver.peekMessages(5);
    const received = await receiver.receiveMessages(3, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(firstTwo.map((m) => m.body)).toEqual(['p1', 'p2']);
    expect(firstTwo.every((m) => m.lockToken === undefined)).toBe(true);
    expect(rest.map((m) => m.body)).toEqual(['p3']);
    expect(received).toHaveLength(3);
  });
});

describe.concurrent('Service Bus emulator: fault injection and counters', () => {
  it('delivers a message twice when told to, each copy with its own lock', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'step', messageId: 'step-7' });
    h.emulator.admin.duplicateNextDeliveries(queue);
    const receiver = client.createReceiver(queue);

    // Act
    const [one] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await receiver.completeMessage(one!);
    const [two] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await receiver.completeMessage(two!);

    // Assess
    expect([one!.messageId, two!.messageId]).toEqual(['step-7', 'step-7']);
    expect(two!.lockToken).not.toBe(one!.lockToken);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ delivered: 2, completed: 2, active: 0 });
  });

  it('holds deliveries back while a delivery delay is set', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    h.emulator.admin.delayDeliveries(queue, 3_600_000);
    await client.createSender(queue).sendMessages({ body: 'delayed' });
    const receiver = client.createReceiver(queue);

    // Act
    const whileDelayed = await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 });
    h.emulator.admin.delayDeliveries(queue, 0);
    const [afterwards] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(whileDelayed).toEqual([]);
    expect(afterwards!.body).toBe('delayed');
  });

  it('drops connections; the client reconnects and carries on', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client({ retryOptions: { maxRetries: 5, retryDelayInMs: 50, timeoutInMs: 2000 } });
    const sender = client.createSender(queue);
    await sender.sendMessages({ body: 'before' });

    // Act
    const dropped = h.emulator.admin.dropConnections({ queue });
    // Give the client a moment to notice; a send racing the drop would wait out its timeout, then retry.
    await sleep(200);
    await sender.sendMessages({ body: 'after' });
    const received = await client.createReceiver(queue).receiveMessages(2, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(dropped).toBe(1);
    expect(received.map((m) => m.body).sort()).toEqual(['after', 'before']);
  });

  it('counts what happened to a queue', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    const sender = client.createSender(queue);
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    await sender.scheduleMessages({ body: 'future' }, new Date(Date.now() + 3_600_000));
    const receiver = client.createReceiver(queue);
    const [a, b] = await receiver.receiveMessages(2, { maxWaitTimeInMs: 5000 });

    // Act
    await receiver.completeMessage(a!);
    await receiver.abandonMessage(b!);
    const [c] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await receiver.deadLetterMessage(c!);

    // Assess
    expect(h.emulator.admin.getCounters(queue)).toEqual({
      sent: 4,
      delivered: 3,
      completed: 1,
      abandoned: 1,
      deferred: 0,
      deadLettered: 1,
      expired: 0,
      lockExpired: 0,
      duplicatesDropped: 0,
      active: 1,
      locked: 0,
      scheduled: 1,
      deferredNow: 0,
      deadLetterQueue: 1,
    });
  });
});
