import type { QueueConfigInput } from './queue-config.js';

const minute = 60 * 1000;
const day = 24 * 60 * minute;

/**
 * The step queue every rotation moves through (`ROTOR_STEP_QUEUE`, default
 * `rotation-steps`), configured as `infra/` configures it in Azure.
 *
 * - Sessions: one session per secret keeps a secret's steps in order on one
 *   instance at a time (invariant I2).
 * - Duplicate detection, 1 day: the same step message may be sent twice — a
 *   handler that crashed after sending the next step, or a retry after a lost
 *   lock. A day is longer than a step's whole retry ladder (8 attempts of
 *   exponential backoff, minutes) and than the Functions host's 5-minute lock
 *   auto-renewal, so any resend of a step during its retries is recognised.
 *   Azure allows up to 7 days; a longer window only costs memory.
 * - Lock 60 s and 10 deliveries (the service defaults): a step is short; a
 *   message that keeps failing ends in the dead-letter queue, where the
 *   dead-letter handler marks its rotation Failed (invariant I3).
 * - Dead-lettering on expiry: a message that carries a time to live and
 *   outlives it is dead-lettered, never silently dropped.
 */
export const rotorStepQueue = {
  name: 'rotation-steps',
  requiresSession: true,
  lockDurationMs: 1 * minute,
  maxDeliveryCount: 10,
  duplicateDetectionWindowMs: 1 * day,
  deadLetteringOnMessageExpiration: true,
  maxMessageSizeBytes: 256 * 1024,
} as const satisfies QueueConfigInput;

/** Every queue Rotor uses; the local stack creates these at start. */
export const rotorQueues: readonly QueueConfigInput[] = [rotorStepQueue];
