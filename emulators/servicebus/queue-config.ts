import { z } from 'zod';
import { emulatorErrorCodes, ServiceBusEmulatorError } from './errors.js';

const second = 1000;
const day = 24 * 3600 * second;

/**
 * A queue as Service Bus describes one, in milliseconds rather than ISO-8601
 * durations. Defaults are the service's own (Standard tier). Two lower bounds
 * are relaxed so that tests can watch expiry happen in a second: Azure's
 * minimum lock duration is 5 s and its minimum duplicate-detection window is
 * 20 s; here both accept 100 ms.
 */
export const queueConfigSchema = z.strictObject({
  name: z
    .string({ error: 'is required: the queue name' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/, 'must be 1-260 letters, digits, periods, hyphens or underscores, starting with a letter or digit'),
  requiresSession: z.boolean().default(false),
  lockDurationMs: z.number().int().min(100).max(5 * 60 * second, 'must be at most 5 minutes (300000 ms)').default(60 * second),
  maxDeliveryCount: z.number().int().min(1).max(2000).default(10),
  /** Unset: duplicate detection is off. */
  duplicateDetectionWindowMs: z.number().int().min(100).max(7 * day, 'must be at most 7 days').optional(),
  /** Unset: messages live until consumed unless they carry their own time to live. */
  defaultMessageTimeToLiveMs: z.number().int().min(1).optional(),
  deadLetteringOnMessageExpiration: z.boolean().default(false),
  maxMessageSizeBytes: z.number().int().min(1024).max(100 * 1024 * 1024).default(256 * 1024),
});

export type QueueConfigInput = z.input<typeof queueConfigSchema>;
export type QueueConfig = Readonly<z.output<typeof queueConfigSchema>>;

/** Parses one queue description; a bad one names the field that is wrong. */
export function parseQueueConfig(input: unknown): QueueConfig {
  const parsed = queueConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue === undefined ? '(queue)' : issue.path.map(String).join('.') || '(queue)';
  throw new ServiceBusEmulatorError(
    emulatorErrorCodes.invalidQueueConfiguration,
    `Queue configuration is invalid: ${field} ${issue?.message ?? 'is malformed'}`,
    { field },
  );
}
