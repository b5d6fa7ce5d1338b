import {
  isServiceBusError,
  type ProcessErrorArgs,
  type ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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

function codeOf(error: unknown): string | undefined {
  return isServiceBusError(error) ? error.code : undefined;
}

describe.concurrent('Service Bus emulator: sessions', () => {
  it('gives a session to one receiver at a time', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const holder = await h.client().acceptSession(queue, 'secret-1');
    const rival = h.impatientClient();

    // Act
    const whileHeld = await errorOf(() => rival.acceptSession(queue, 'secret-1'));
    await holder.close();
    const afterRelease = await rival.acceptSession(queue, 'secret-1');

    // Assess
    expect(codeOf(whileHeld)).toBe('SessionCannotBeLocked');
    expect(afterRelease.sessionId).toBe('secret-1');
  });

  it('accepts the next session with messages and keeps each session first-in-first-out', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages([
      { body: 'a1', sessionId: 'A' },
      { body: 'b1', sessionId: 'B' },
      { body: 'a2', sessionId: 'A' },
      { body: 'b2', sessionId: 'B' },
      { body: 'a3', sessionId: 'A' },
    ]);

    // Act
    const first = await client.acceptNextSession(queue);
    const firstBodies = (await first.receiveMessages(10, { maxWaitTimeInMs: 500 })).map((m) => m.body as string);
    const second = await client.acceptNextSession(queue);
    const secondBodies = (await second.receiveMessages(10, { maxWaitTimeInMs: 500 })).map((m) => m.body as string);

    // Assess
    expect(first.sessionId).toBe('A');
    expect(firstBodies).toEqual(['a1', 'a2', 'a3']);
    expect(second.sessionId).toBe('B');
    expect(secondBodies).toEqual(['b1', 'b2']);
    expect(first.sessionLockedUntilUtc.getTime()).toBeGreaterThan(Date.now());
  });

  it('answers acceptNextSession with ServiceTimeout when no session is free', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'held', sessionId: 'busy' });
    await client.acceptSession(queue, 'busy');
    const impatient = h.impatientClient(600);

    // Act
    const error = await errorOf(() => impatient.acceptNextSession(queue));

    // Assess: the only session with messages is locked, so none is available.
    expect(codeOf(error)).toBe('ServiceTimeout');
  });

  it('lets acceptNextSession wait until a session gets a message', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client({ retryOptions: { timeoutInMs: 10_000 } });
    const accepting = client.acceptNextSession(queue);

    // Act
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.createSender(queue).sendMessages({ body: 'wake up', sessionId: 'late' });
    const receiver = await accepting;
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(receiver.sessionId).toBe('late');
    expect(message!.body).toBe('wake up');
  });

  // Bound on a hang, 90 s: the rival retries acceptSession for up to 25 s while the 1-s lock runs out, then up
  // to two 5-s receives; the project's 30 s left no room on a busy machine.
  it('loses an expired session lock: settling fails with SessionLockLost and another receiver gets the message', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true, lockDurationMs: 1000 });
    await h.client().createSender(queue).sendMessages({ body: 'step', sessionId: 's' });
    const first = await h.client({ retryOptions: { timeoutInMs: 5000 } }).acceptSession(queue, 's', { maxAutoLockRenewalDurationInMs: 0 });
    const [stale] = await first.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const rival = h.impatientClient();

    // Act
    let second: ServiceBusSessionReceiver | undefined;
    await vi.waitFor(
      async () => {
        second = await rival.acceptSession(queue, 's');
      },
      { timeout: 25_000, interval: 100 },
    );
    // The rival's accept proves the emulator detached the first link, but on another connection: wait until
    // the first client has read that detach too. A disposition sent before it crosses the detach in flight,
    // gets no answer, and the SDK waits out its 60-s operation timeout (emulators/servicebus/README.md).
    await vi.waitFor(
      () => {
        if (!first.isClosed) throw new Error('the first receiver has not seen its session lock end yet');
      },
      { timeout: 25_000, interval: 50 },
    );
    const error = await errorOf(() => first.completeMessage(stale!));
    const [again] = await second!.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(codeOf(error)).toBe('SessionLockLost');
    expect(again!.body).toBe('step');
    expect(again!.deliveryCount).toBe(1);
  }, 90_000);

  it('renews a session lock', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true, lockDurationMs: 10_000 });
    const receiver = await h.client().acceptSession(queue, 'renew', { maxAutoLockRenewalDurationInMs: 0 });
    const before = receiver.sessionLockedUntilUtc.getTime();

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await receiver.renewSessionLock();

    // Assess
    expect(after.getTime()).toBeGreaterThan(before);
    expect(receiver.sessionLockedUntilUtc.getTime()).toBe(after.getTime());
  });

  it('keeps session state across receivers', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    const first = await client.acceptSession(queue, 'rotation-9');
    const initial: unknown = await first.getSessionState();

    // Act
    await first.setSessionState({ step: 'prepare', attempt: 2 });
    await first.close();
    const second = await client.acceptSession(queue, 'rotation-9');
    const kept: unknown = await second.getSessionState();

    // Assess
    expect(initial).toBeNull();
    expect(kept).toEqual({ step: 'prepare', attempt: 2 });
  });

  it('refuses session state to a receiver whose session lock is gone', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const receiver = await h.impatientClient().acceptSession(queue, 'gone');
    h.emulator.admin.expireLocks(queue, { sessionId: 'gone' });

    // Act
    const error = await errorOf(() => receiver.setSessionState({ step: 'x' }));

    // Assess
    expect(codeOf(error)).toBe('SessionLockLost');
  });

  it('frees a closed session at once and redelivers what its receiver left unsettled', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'unfinished', sessionId: 'crash' });
    const first = await client.acceptSession(queue, 'crash');
    await first.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await first.close();
    const second = await client.acceptNextSession(queue);
    const [again] = await second.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Assess
    expect(second.sessionId).toBe('crash');
    expect(again!.body).toBe('unfinished');
    expect(again!.deliveryCount).toBe(1);
  });

  it('defers within a session and receives the deferred message by sequence number', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages([
      { body: 'wait for me', sessionId: 'd' },
      { body: 'next', sessionId: 'd' },
    ]);
    const receiver = await client.acceptSession(queue, 'd');
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });

    // Act
    await receiver.deferMessage(first!);
    const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const [deferred] = await receiver.receiveDeferredMessages(first!.sequenceNumber!);
    await receiver.completeMessage(deferred!);
    await receiver.completeMessage(second!);

    // Assess
    expect(second!.body).toBe('next');
    expect(deferred!.body).toBe('wait for me');
    expect(deferred!.sessionId).toBe('d');
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ completed: 2, active: 0, deferredNow: 0 });
  });

  it('peeks only the messages of the receiver’s session', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages([
      { body: 'x1', sessionId: 'X' },
      { body: 'y1', sessionId: 'Y' },
      { body: 'x2', sessionId: 'X' },
    ]);
    const receiver = await client.acceptSession(queue, 'X');

    // Act
    const peeked = await receiver.peekMessages(10);

    // Assess
    expect(peeked.map((m) => m.body)).toEqual(['x1', 'x2']);
  });

  it('lists sessions that hold messages (get-message-sessions)', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages([
      { body: 1, sessionId: 'one' },
      { body: 2, sessionId: 'two' },
    ]);
    const receiver = await client.acceptSession(queue, 'one');
    // 7.9 has no public call for this operation; this is the SDK's own ManagementClient.
    const management = (receiver as unknown as { _context: { getManagementClient(path: string): { listMessageSessions(skip: number, top: number): Promise<string[]> } } })._context.getManagementClient(queue);

    // Act
    const sessions = await management.listMessageSessions(0, 10);

    // Assess
    expect([...sessions].sort()).toEqual(['one', 'two']);
  });
});

describe.concurrent('Service Bus emulator: subscribe() on sessions, as the Functions host uses it', () => {
  interface Handled {
    readonly session: string;
    readonly body: string;
    readonly deliveryCount: number;
  }

  /** Accepts `slots` sessions and subscribes to each: complete on success, abandon on throw. */
  async function hostSessions(
    client: ServiceBusClient,
    queue: string,
    slots: number,
    handler: (m: ServiceBusReceivedMessage) => Promise<void>,
    errors: ProcessErrorArgs[],
  ): Promise<ServiceBusSessionReceiver[]> {
    const receivers: ServiceBusSessionReceiver[] = [];
    for (let i = 0; i < slots; i += 1) {
      const receiver = await client.acceptNextSession(queue);
      receiver.subscribe(
        {
          processMessage: handler,
          processError: (args) => {
            errors.push(args);
            return Promise.resolve();
          },
        },
        { autoCompleteMessages: true, maxConcurrentCalls: 1 },
      );
      receivers.push(receiver);
    }
    return receivers;
  }

  it('processes each session in order, redelivering a message whose handler threw', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages(
      ['A', 'B'].flatMap((s) => [1, 2, 3].map((n) => ({ body: `${s}${n}`, sessionId: s }))),
    );
    const handled: Handled[] = [];
    const errors: ProcessErrorArgs[] = [];
    let thrown = false;
    const handler = async (m: ServiceBusReceivedMessage): Promise<void> => {
      handled.push({ session: m.sessionId!, body: m.body as string, deliveryCount: m.deliveryCount! });
      if (m.body === 'A1' && !thrown) {
        thrown = true;
        throw new Error('transient failure');
      }
      await Promise.resolve();
    };

    // Act
    const receivers = await hostSessions(client, queue, 2, handler, errors);
    await vi.waitFor(() => expect(h.emulator.admin.getCounters(queue).completed).toBe(6), { timeout: 25_000, interval: 50 });
    await Promise.all(receivers.map((r) => r.close()));

    // Assess
    const of = (s: string): string[] => handled.filter((x) => x.session === s).map((x) => `${x.body}#${x.deliveryCount}`);
    expect(of('A')).toEqual(['A1#0', 'A1#1', 'A2#0', 'A3#0']);
    expect(of('B')).toEqual(['B1#0', 'B2#0', 'B3#0']);
    expect(h.emulator.admin.getCounters(queue)).toMatchObject({ abandoned: 1, completed: 6, active: 0 });
    expect(errors.map((e) => e.errorSource)).toEqual(['processMessageCallback']);
  });

  it('reports a lost session lock to processError', async () => {
    // Prepare
    const queue = h.queue({ requiresSession: true });
    const client = h.client();
    await client.createSender(queue).sendMessages({ body: 'first', sessionId: 'L' });
    const errors: ProcessErrorArgs[] = [];
    const seen: string[] = [];
    const record = (m: ServiceBusReceivedMessage): Promise<void> => {
      seen.push(m.body as string);
      return Promise.resolve();
    };
    const [receiver] = await hostSessions(client, queue, 1, record, errors);
    await vi.waitFor(() => expect(seen).toEqual(['first']), { timeout: 25_000, interval: 20 });

    // Act
    h.emulator.admin.expireLocks(queue, { sessionId: 'L' });
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 25_000, interval: 20 });
    await receiver!.close();

    // Assess
    expect(codeOf(errors[0]!.error)).toBe('SessionLockLost');
  });
});
