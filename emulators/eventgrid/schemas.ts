import { z } from 'zod';
import { eventSchemas } from './types.js';
import type { FieldProblem } from './errors.js';

/** Limits the service documents for subscriptions (retry policy, batching, names). */
export const subscriptionLimits = {
  maxDeliveryAttempts: { min: 1, max: 30, default: 30 },
  eventTimeToLiveInMinutes: { min: 1, max: 1440, default: 1440 },
  maxEventsPerBatch: { min: 1, max: 5000 },
} as const;

const schemaName = z.enum([eventSchemas.EventGridSchema, eventSchemas.CloudEventSchemaV1_0], {
  error: 'must be EventGridSchema or CloudEventSchemaV1_0',
});

/**
 * An event subscription, with ARM's property names so a reader of the Bicep or
 * the REST reference recognises every field.
 */
export const subscriptionOptionsSchema = z.strictObject({
  name: z
    .string({ error: 'is required' })
    .regex(/^[A-Za-z0-9-]{3,64}$/, 'must be 3 to 64 letters, digits or hyphens'),
  /** Topic the subscription listens to; default: the system topic fed by `publish()`. */
  topic: z.string().min(1).optional(),
  endpointUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  eventDeliverySchema: schemaName.default(eventSchemas.EventGridSchema),
  filter: z
    .strictObject({
      includedEventTypes: z.array(z.string().min(1)).min(1, 'must list at least one type when given').optional(),
      subjectBeginsWith: z.string().optional(),
      subjectEndsWith: z.string().optional(),
      isSubjectCaseSensitive: z.boolean().default(false),
    })
    .prefault({}),
  retryPolicy: z
    .strictObject({
      maxDeliveryAttempts: z
        .number()
        .int('must be a whole number')
        .min(subscriptionLimits.maxDeliveryAttempts.min, 'must be between 1 and 30')
        .max(subscriptionLimits.maxDeliveryAttempts.max, 'must be between 1 and 30')
        .default(subscriptionLimits.maxDeliveryAttempts.default),
      eventTimeToLiveInMinutes: z
        .number()
        .int('must be a whole number')
        .min(subscriptionLimits.eventTimeToLiveInMinutes.min, 'must be between 1 and 1440')
        .max(subscriptionLimits.eventTimeToLiveInMinutes.max, 'must be between 1 and 1440')
        .default(subscriptionLimits.eventTimeToLiveInMinutes.default),
    })
    .prefault({}),
  /** Batched delivery (off when absent, as in the service). */
  maxEventsPerBatch: z
    .number()
    .int('must be a whole number')
    .min(subscriptionLimits.maxEventsPerBatch.min, 'must be between 1 and 5000')
    .max(subscriptionLimits.maxEventsPerBatch.max, 'must be between 1 and 5000')
    .optional(),
});

export type SubscriptionOptions = z.input<typeof subscriptionOptionsSchema>;
export type SubscriptionConfig = z.output<typeof subscriptionOptionsSchema>;

const dateTime = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' });

/**
 * An Event Grid schema event as a publisher sends it. `topic`, `dataVersion`
 * and `metadataVersion` are optional on input: the service stamps them.
 */
export const eventGridEventInputSchema = z
  .object({
    id: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    topic: z.string().optional(),
    subject: z.string({ error: 'is required' }),
    eventType: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    eventTime: dateTime,
    data: z.unknown(),
    dataVersion: z.string().optional(),
    metadataVersion: z.literal('1', { error: 'must be "1" when given' }).optional(),
  })
  .refine((event) => event.data !== undefined, { path: ['data'], message: 'is required' });

export type EventGridEventInput = z.output<typeof eventGridEventInputSchema>;

const reservedCloudEventAttributes = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);

/** A CloudEvents 1.0 event in JSON format, with the constraints the spec puts on extension names. */
export const cloudEventInputSchema = z
  .looseObject({
    specversion: z.literal('1.0', { error: 'must be "1.0"' }),
    id: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    source: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    type: z.string({ error: 'is required' }).min(1, 'must not be empty'),
    subject: z.string().optional(),
    time: dateTime.optional(),
    datacontenttype: z.string().optional(),
    dataschema: z.string().optional(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .superRefine((event, ctx) => {
    if (event.data !== undefined && event.data_base64 !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['data_base64'], message: 'must not be sent together with data' });
    }
    for (const name of Object.keys(event)) {
      if (!reservedCloudEventAttributes.has(name) && !/^[a-z0-9]+$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'extension attribute names must be lower-case letters and digits' });
      }
    }
  });

/** Turns zod issues into field problems, prefixing a path such as `events[3]`. */
export function problemsOf(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = prefix === '' ? path || '(body)' : path === '' ? prefix : `${prefix}.${path}`;
    return { field, message: issue.message };
  });
}
