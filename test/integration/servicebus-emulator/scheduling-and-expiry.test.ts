import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe.concurrent('Service Bus emulator: scheduled messages', () => {
  it('holds a scheduled message until its time, then delivers it', async () => {
    // Prepare: no assertion races the clock. "Held" is read on a message due in an hour; "delivered at its
    // time" on one due shortly, by checking that it never reaches the receiver before that time.
    const queue = h.queue();
    const client = h.client();
    const sender = client.createSender(queue);
    const later = new Date(Date.now() + 3_600_000);
    const soon = new Date(Date.now() + 1500);

    // Act
    const [heldSequence] = await sender.scheduleMessages({ body: 'held' }, later);
    const [sequenceNumber] = await sender.scheduleMessages({ body: 'verify' }, soon);
    const receiver = client.createReceiver(queue);
    const peeked = await receiver.peekMessages(2);
    const [due] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 30_000 });
    const receivedAt = Date.now();

    // Assess
    const held = peeked.find((m) => m.sequenceNumber!.toNumber() === heldSequence!.toNumber());
    expect(held?.state).toBe('scheduled');
    expect(held!.scheduledEnqueueTimeUtc!.getTime()).toBe(later.getTime());
    expect(sequenceNumber!.toNumber()).toBeGreaterThan(heldSequence!.toNumber());
    expect(due!.body).toBe('verify');
    expect(due!.sequenceNumber!.toNumber()).toBe(sequenceNumber!.toNumber());
    expect(due!.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(soon.getTime());
    expect(receivedAt).toBeGreaterThanOrEqual(soon.getTime());
  });

  it('schedules through sendMessages when the message carries scheduledEnqueueTimeUtc', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();

    // Act
    await client.createSender(queue).sendMessages({ body: 'later', scheduledEnqueueTimeUtc: new Date(Date.now() + 3_600_000) });
    const received = await client.createReceiver(queue).receiveMessages(1, { maxWaitTimeInMs: 200 });

    // Assess
    expect(received).toEqual([]);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ sent: 1, scheduled: 1, active: 0 });
  });

  it('cancels a scheduled message so that it never becomes active', async () => {
    // Prepare
    const queue = h.queue();
    const client = h.client();
    const sender = client.createSender(queue);
    const [cancelled, kept] = await sender.scheduleMessages([{ body: 'cancel me' }, { body: 'keep me' }], new Date(Date.now() + 3_600_000));

    // Act
    await sender.cancelScheduledMessages(cancelled!);
    const peeked = await client.createReceiver(queue).peekMessages(5);

    // Assess
    expect(peeked.map((m) => [m.body, m.state, m.sequenceNumber!.toNumber()])).toEqual([['keep me', 'scheduled', kept!.toNumber()]]);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ scheduled: 1, active: 0 });
  });

  it('counts scheduled messages for duplicate detection', async () => {
    // Prepare
    const queue = h.queue({ duplicateDetectionWindowMs: 60_000 });
    const sender = h.client().createSender(queue);
    await sender.scheduleMessages({ body: 'retry step', messageId: 'r-1:verify:2' }, new Date(Date.now() + 3_600_000));

    // Act
    await sender.sendMessages({ body: 'same step now', messageId: 'r-1:verify:2' });
    await sender.scheduleMessages({ body: 'same step again', messageId: 'r-1:verify:2' }, new Date(Date.now() + 3_600_000));

    // Assess
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ sent: 1, scheduled: 1, active: 0, duplicatesDropped: 2 });
  });

  it('schedules session messages and activates them in their session', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).scheduleMessages({ body: 'verify', sessionId: 'secret-3' }, new Date(Date.now() + 300));

    // Act
    const receiver = await client.acceptNextSession(queue);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(receiver.sessionId).toBe('secret-3');
    expect(message!.body).toBe('verify');
  });
});

describe.concurrent('Service Bus emulator: time to live', () => {
  it('dead-letters an expired message when the queue says so', async () => {
    // Prepare
    const queue = h.queue({ deadLetteringOnMessageExpiration: true });
    const client = h.client();

    // Act
    await client.createSender(queue).sendMessages({ body: 'stale', timeToLive: 200 });
    await vi.waitFor(() => expect(h.emulator.admin.getCounters(queue).expired).toBe(1), { timeout: 25_000, interval: 50 });
    const [dead] = await client.createReceiver(queue, { subQueueType: 'deadLetter' }).receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(dead!.body).toBe('stale');
    expect(dead!.deadLetterReason).toBe('TTLExpiredException');
    expect(await client.createReceiver(queue).peekMessages(5)).toEqual([]);
  });

  it('drops an expired message when the queue does not dead-letter on expiry', async () => {
    // Prepare
    const queue = h.queue({ defaultMessageTimeToLiveMs: 200 });
    const client = h.client();

    // Act
    await client.createSender(queue).sendMessages({ body: 'gone' });
    await vi.waitFor(() => expect(h.emulator.admin.getCounters(queue).expired).toBe(1), { timeout: 25_000, interval: 50 });

    // Assess
    expect(await client.createReceiver(queue).peekMessages(5)).toEqual([]);
    expect(await client.createReceiver(queue, { subQueueType: 'deadLetter' }).peekMessages(5)).toEqual([]);
  });

  it('uses the shorter of the message time to live and the queue default', async () => {
    // Prepare
    const queue = h.queue({ defaultMessageTimeToLiveMs: 60_000 });
    const client = h.client();

    // Act
    await client.createSender(queue).sendMessages([{ body: 'own ttl', timeToLive: 10_000 }, { body: 'queue ttl' }]);
    const received = await client.createReceiver(queue).receiveMessages(2, { maxWaitTimeInMs: 5000 });

    // Assess
    const lifetimes = received.map((m) => m.expiresAtUtc!.getTime() - m.enqueuedTimeUtc!.getTime());
    expect(lifetimes).toEqual([10_000, 60_000]);
  });
});
