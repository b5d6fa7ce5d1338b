import type { Clock, StepQueue } from '../../src/rotation/ports.js';
import { createFakeClock } from './fakes/clock.js';
import { createFakeStepQueue } from './fakes/step-queue.js';
import { drainSteps, type StepPumpOptions } from './step-pump.js';

/**
 * How step messages travel in an end-to-end test: the queue the engine sends
 * to, the clock it reads, and a way to deliver everything to a handler the way
 * the Functions host would (complete on success, abandon on throw).
 */
export interface StepTransport {
  readonly name: string;
  readonly stepQueue: StepQueue;
  readonly clock: Clock;
  /** Delivers messages to `handle` until none are left (scheduled ones included). */
  deliverAll(handle: (body: unknown) => Promise<unknown>, options?: Pick<StepPumpOptions, 'redeliverAfterSuccess' | 'afterDelivery'>): Promise<void>;
  /** Every message body sent, as text, for leak scans. */
  bodies(): string[];
  stop(): Promise<void>;
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
      await drainSteps({ queue, clock, handle, ...options });
    },
    bodies: () => [...queue.sentBodies],
    stop: () => Promise.resolve(),
  };
}
