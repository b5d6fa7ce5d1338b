import { notePropagated } from './crash-replay.js';
import type { FakeClock } from './fakes/clock.js';
import type { FakeStepQueue, QueuedStep } from './fakes/step-queue.js';

export interface StepPumpOptions {
  readonly queue: FakeStepQueue;
  readonly clock: FakeClock;
  /** What the Functions host would call: the exported handler, or `engine.handleStep`. */
  readonly handle: (body: unknown, delivery: { readonly deliveryCount: number }) => Promise<unknown>;
  /** Service Bus MaxDeliveryCount: a message that throws this often is dead-lettered. Default 10. */
  readonly maxDeliveries?: number;
  /** Deliver every message a second time after it completed (a redelivery after a lost settlement). */
  readonly redeliverAfterSuccess?: boolean;
  /** Runs after each delivery, at a step boundary: invariant checks go here. */
  readonly afterDelivery?: (delivery: { readonly message: QueuedStep; readonly threw: unknown }) => void | Promise<void>;
  /** Guard against a machine that never ends. Default 5,000 deliveries. */
  readonly maxDeliveriesInTotal?: number;
}

export interface StepPumpResult {
  readonly delivered: number;
  readonly threw: number;
}

/**
 * Runs the step queue dry the way the Functions host would: the earliest due
 * message first, complete on success, abandon (immediate redelivery) on a
 * throw, dead-letter after `maxDeliveries`. Waiting is simulated by moving the
 * fake clock to the next scheduled message, so grace periods and backoff cost
 * no real time.
 */
export async function drainSteps(options: StepPumpOptions): Promise<StepPumpResult> {
  const { queue, clock } = options;
  const limit = options.maxDeliveriesInTotal ?? 5_000;
  let delivered = 0;
  let threw = 0;
  for (;;) {
    let message = queue.nextDue(clock.now().getTime());
    if (message === undefined) {
      const dueAt = queue.nextDueAt();
      if (dueAt === undefined) return { delivered, threw };
      clock.set(dueAt);
      message = queue.nextDue(clock.now().getTime());
      if (message === undefined) return { delivered, threw };
    }
    if ((delivered += 1) > limit) throw new Error(`the step queue did not drain after ${limit} deliveries`);
    let error: unknown;
    try {
      // Service Bus counts deliveries from 1 (the trigger's `deliveryCount`); an abandon raises it.
      await options.handle(structuredClone(message.body), { deliveryCount: message.deliveryCount + 1 });
    } catch (caught) {
      error = caught;
      notePropagated(caught);
    }
    if (error === undefined) {
      queue.complete(message);
      if (options.redeliverAfterSuccess === true) await options.handle(structuredClone(message.body), { deliveryCount: message.deliveryCount + 2 });
    } else {
      threw += 1;
      queue.abandon(message, options.maxDeliveries ?? 10);
    }
    await options.afterDelivery?.({ message, threw: error });
  }
}
