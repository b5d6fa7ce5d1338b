import { InvocationContext } from '@azure/functions';
import { isServiceBusError, ServiceBusClient, type ServiceBusSessionReceiver } from '@azure/service-bus';
import { rotorQueues, rotorStepQueue, startServiceBusEmulator } from '../../emulators/servicebus/index.js';
import { createServiceBusStepQueue } from '../../src/queue/step-queue.js';
import { systemClock, type Clock, type StepQueue } from '../../src/rotation/ports.js';
import { createFakeClock } from './fakes/clock.js';
import { createFakeStepQueue } from './fakes/step-queue.js';
import { drainSteps } from './step-pump.js';
import { notePropagated } from './crash-replay.js';

/**
 * How step messages travel in an end-to-end test: the queue the engine sends
 * to, the clock it reads, and a way to deliver everything to a handler the way
 * the Functions host would (complete on success, abandon on throw).
 */
export interface StepTransport {
  readonly name: string;
  readonly stepQueue: StepQueue;
  readonly clock: Clock;
  /**
   * Delivers messages to `handle` until none are left (the in-memory queue,
   * scheduled ones included) or, on Service Bus, until `until()` is true (a
   * receiver cannot see scheduled messages, so the test says what it waits for).
   */
  deliverAll(handle: (body: unknown, delivery: Delivery) => Promise<unknown>, options: DeliverOptions): Promise<void>;
  /** Every message body sent, as text, for leak scans. */
  bodies(): string[];
  /** What the queue saw: duplicates it dropped, messages still waiting, dead letters. */
  counters(): TransportCounters;
  stop(): Promise<void>;
}

/** What Service Bus says about one delivery: the trigger's `deliveryCount` (1 on the first) and the application properties. */
export interface Delivery {
  readonly deliveryCount: number;
  readonly applicationProperties?: Readonly<Record<string, unknown>>;
}

/** The step function's invocation context for one delivery, with the trigger metadata the Functions host gives it. */
export function stepInvocation(delivery?: Delivery): InvocationContext {
  return new InvocationContext({
    functionName: 'rotationSteps',
    logHandler: () => undefined,
    ...(delivery === undefined ? {} : { triggerMetadata: { deliveryCount: delivery.deliveryCount, applicationProperties: { ...delivery.applicationProperties } } }),
  });
}

export interface TransportCounters {
  readonly duplicatesDropped: number;
  /** Active plus scheduled messages. */
  readonly waiting: number;
  readonly deadLettered: number;
}

export interface DeliverOptions {
  readonly until: () => Promise<boolean>;
  readonly redeliverAfterSuccess?: boolean;
  /** Service Bus: give up after this long (a rotation that never ends fails the test instead of hanging it). */
  readonly timeoutMs?: number;
}

/** In-memory queue with duplicate detection and a virtual clock: scheduled steps cost no real time. */
export function memoryTransport(): StepTransport {
  const clock = createFakeClock(Date.now());
  const queue = createFakeStepQueue({ now: () => clock.now() });
  return {
    name: 'in-memory queue',
    stepQueue: queue,
    clock,
    async deliverAll(handle, options) {
      await drainSteps({ queue, clock, handle, ...(options.redeliverAfterSuccess === undefined ? {} : { redeliverAfterSuccess: options.redeliverAfterSuccess }) });
      if (!(await options.until())) throw new Error('the in-memory step queue drained before the awaited rotations ended');
    },
    bodies: () => [...queue.sentBodies],
    counters: () => ({ duplicatesDropped: queue.duplicatesDropped, waiting: queue.pending.length, deadLettered: queue.deadLettered.length }),
    stop: () => Promise.resolve(),
  };
}

/**
 * The real step queue: Rotor's Service Bus adapter sends, and a host-like
 * loop receives the way the Functions runtime does for a session trigger —
 * `workers` sessions at a time (the runtime's default is 8), each message
 * handed to the exported handler, completed on success, abandoned on a throw
 * (so Service Bus redelivers it and, after MaxDeliveryCount, dead-letters it).
 * Time is real: scheduled steps arrive when due, so policies use short graces.
 */
export function serviceBusTransport(options: {
  readonly connectionString: string;
  readonly queueName: string;
  readonly workers?: number;
  readonly counters: () => TransportCounters;
  /** Runs after the client closed (stopping the emulator). */
  readonly onStop?: () => Promise<void>;
}): StepTransport {
  const client = new ServiceBusClient(options.connectionString, { retryOptions: { timeoutInMs: 2_000, maxRetries: 2, retryDelayInMs: 50 } });
  // Receiving has its own client with a short operation timeout: waiting for the next session
  // ignores an abort signal and lasts until that timeout, which would otherwise pad every test.
  // Not shorter than a second: under CPU load a drain can take longer, and the SDK then closes
  // the link and reports the session lock as lost.
  const receiving = new ServiceBusClient(options.connectionString, { retryOptions: { timeoutInMs: 1_000, maxRetries: 0 } });
  const sender = client.createSender(options.queueName);
  const bodies: string[] = [];
  const queue = createServiceBusStepQueue({ sender });
  const recording: StepQueue = {
    sendStep: async (message, sendOptions) => {
      bodies.push(JSON.stringify(message));
      await queue.sendStep(message, sendOptions);
    },
  };

  async function serveOneSession(handle: (body: unknown, delivery: Delivery) => Promise<unknown>, redeliver: boolean, stop: AbortSignal): Promise<void> {
    let receiver: ServiceBusSessionReceiver;
    try {
      // The session lock is renewed as the Functions host renews it (host.json maxAutoLockRenewalDuration,
      // 5 min): without it, a step slower than the 5-s lock on a busy machine lost its session, and the
      // settle that crossed the lock-lost detach waited out the SDK's 60-s operation timeout.
      receiver = await receiving.acceptNextSession(options.queueName, { maxAutoLockRenewalDurationInMs: 300_000, abortSignal: stop });
    } catch (error) {
      // No session has a message ready right now (scheduled ones are not yet due), or the test is done.
      if (stop.aborted) return;
      if (isServiceBusError(error) && (error.code === 'SessionCannotBeLocked' || error.code === 'ServiceTimeout')) return;
      throw error;
    }
    try {
      for (;;) {
        const messages = await receiver.receiveMessages(10, { maxWaitTimeInMs: 30 });
        if (messages.length === 0) return;
        for (const message of messages) {
          // The JS SDK counts earlier deliveries (0 on the first); the trigger reports 1 on the first.
          const deliveryCount = (message.deliveryCount ?? 0) + 1;
          const applicationProperties = message.applicationProperties ?? {};
          try {
            await handle(message.body, { deliveryCount, applicationProperties });
          } catch (error) {
            notePropagated(error);
            await receiver.abandonMessage(message);
            continue;
          }
          await receiver.completeMessage(message);
          if (redeliver) await handle(message.body, { deliveryCount: deliveryCount + 1, applicationProperties });
        }
      }
    } catch (error) {
      // As the Functions host does: a session whose lock was lost is given up; the broker
      // redelivers its messages once the lock expires, and the handler is idempotent (I4).
      if (isServiceBusError(error) && error.code === 'SessionLockLost') return;
      throw error;
    } finally {
      await receiver.close();
    }
  }

  return {
    name: 'Service Bus emulator',
    stepQueue: recording,
    clock: systemClock,
    async deliverAll(handle, deliver) {
      const deadline = Date.now() + (deliver.timeoutMs ?? 30_000);
      const stop = new AbortController();
      const worker = async (): Promise<void> => {
        while (!stop.signal.aborted) {
          await serveOneSession(handle, deliver.redeliverAfterSuccess === true, stop.signal);
          if (!stop.signal.aborted && Date.now() > deadline) throw new Error('rotations did not end before the delivery timeout');
        }
      };
      const watcher = async (): Promise<void> => {
        while (!(await deliver.until())) {
          if (Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        stop.abort();
      };
      await Promise.all([watcher(), ...Array.from({ length: options.workers ?? 4 }, worker)]);
      if (!(await deliver.until())) throw new Error('rotations did not end before the delivery timeout');
    },
    bodies: () => [...bodies],
    counters: options.counters,
    stop: async () => {
      await sender.close();
      await Promise.all([client.close(), receiving.close()]);
      await options.onStop?.();
    },
  };
}

/** A Service Bus emulator with Rotor's queues, and the transport over it. */
export async function startServiceBusTransport(workers?: number): Promise<StepTransport> {
  // Rotor's queues with a 5 s lock, so a session given up after a lost lock comes back within the test.
  const emulator = await startServiceBusEmulator({ queues: rotorQueues.map((q) => ({ ...q, lockDurationMs: 5_000 })) });
  return serviceBusTransport({
    connectionString: emulator.connectionString,
    queueName: rotorStepQueue.name,
    ...(workers === undefined ? {} : { workers }),
    counters: () => {
      const c = emulator.admin.getCounters(rotorStepQueue.name);
      return { duplicatesDropped: c.duplicatesDropped, waiting: c.active + c.scheduled, deadLettered: c.deadLetterQueue };
    },
    onStop: () => emulator.stop(),
  });
}
