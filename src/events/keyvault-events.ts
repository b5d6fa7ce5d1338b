import { z } from 'zod';
import { secretNameSchema, type SecretRef } from '../keyvault/secret-ref.js';

/**
 * Key Vault events as Event Grid delivers them, in either schema a
 * subscription may choose (Event Grid schema or CloudEvents 1.0). The wire
 * shape stays here: everything past `parseKeyVaultEvent` sees `KeyVaultSecretEvent`.
 *
 * Key Vault writes its data keys PascalCase (`Id, VaultName, ObjectType,
 * ObjectName, Version, NBF, EXP`) while `@azure/eventgrid` declares them
 * camelCase, and Microsoft's own sample even has `"ObjectName "` with a
 * trailing space; keys are therefore matched case- and space-insensitively.
 */

export const KeyVaultEventType = {
  SecretNewVersionCreated: 'Microsoft.KeyVault.SecretNewVersionCreated',
  SecretNearExpiry: 'Microsoft.KeyVault.SecretNearExpiry',
  SecretExpired: 'Microsoft.KeyVault.SecretExpired',
} as const;
export type KeyVaultEventType = (typeof KeyVaultEventType)[keyof typeof KeyVaultEventType];

/** The event types that start a rotation. */
export const rotationEventTypes: ReadonlySet<string> = new Set([KeyVaultEventType.SecretNearExpiry, KeyVaultEventType.SecretExpired]);

export const SUBSCRIPTION_VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export const EventSchema = { EventGrid: 'EventGrid', CloudEvents: 'CloudEvents' } as const;
export type EventSchema = (typeof EventSchema)[keyof typeof EventSchema];

/** The envelope fields Rotor reads, whichever schema carried them. */
export interface EventEnvelope {
  readonly schema: EventSchema;
  readonly id: string;
  readonly type: string;
  readonly subject?: string;
  /** `topic` (Event Grid schema) or `source` (CloudEvents). */
  readonly source?: string;
  readonly time?: string;
  readonly data: unknown;
}

/** A Key Vault secret event, reduced to what Rotor acts on. */
export interface KeyVaultSecretEvent {
  readonly schema: EventSchema;
  readonly eventId: string;
  readonly eventType: string;
  readonly secret: SecretRef;
  readonly version: string;
  readonly notBefore?: Date;
  readonly expiresOn?: Date;
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/** Event Grid's own limits: 1 MB per event, so no field needs to be longer than this. */
const MAX_FIELD = 4096;
const text = (name: string) =>
  z.string({ error: `${name} must be a string` }).min(1, `${name} must not be empty`).max(MAX_FIELD, `${name} is too long`);

const eventGridEnvelope = z.object({
  id: text('id'),
  topic: text('topic').optional(),
  subject: z.string().max(MAX_FIELD).optional(),
  eventType: text('eventType'),
  eventTime: z.string().max(MAX_FIELD).optional(),
  data: z.unknown(),
  dataVersion: z.string().max(MAX_FIELD).optional(),
  metadataVersion: z.string().max(MAX_FIELD).optional(),
});

const cloudEventEnvelope = z.object({
  id: text('id'),
  source: text('source'),
  specversion: z.literal('1.0', { error: 'specversion must be "1.0"' }),
  type: text('type'),
  subject: z.string().max(MAX_FIELD).optional(),
  time: z.string().max(MAX_FIELD).optional(),
  data: z.unknown(),
});

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads either schema's envelope; which one is decided by `specversion` (CloudEvents) or `eventType` (Event Grid). */
export function parseEventEnvelope(input: unknown): ParseResult<EventEnvelope> {
  if (!isPlainObject(input)) return { ok: false, problems: ['an event must be a JSON object'] };
  if ('specversion' in input) {
    const parsed = cloudEventEnvelope.safeParse(input);
    if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error) };
    const e = parsed.data;
    return {
      ok: true,
      value: { schema: EventSchema.CloudEvents, id: e.id, type: e.type, source: e.source, subject: e.subject, time: e.time, data: e.data },
    };
  }
  if ('eventType' in input) {
    const parsed = eventGridEnvelope.safeParse(input);
    if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error) };
    const e = parsed.data;
    return {
      ok: true,
      value: { schema: EventSchema.EventGrid, id: e.id, type: e.eventType, source: e.topic, subject: e.subject, time: e.eventTime, data: e.data },
    };
  }
  return { ok: false, problems: ['not an Event Grid event (no eventType) nor a CloudEvent (no specversion)'] };
}

/** Unix seconds as a number or a numeric string (Microsoft's samples use strings); empty means absent. */
const unixSeconds = z
  .union([z.number(), z.string().max(32), z.null()])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return undefined;
    const n = typeof v === 'number' ? v : Number(v.trim());
    // Year 10000 in seconds bounds what a Date can hold and what Key Vault writes.
    if (!Number.isFinite(n) || n < 0 || n > 253_402_300_799) {
      ctx.addIssue({ code: 'custom', message: 'must be Unix seconds' });
      return z.NEVER;
    }
    return new Date(Math.trunc(n) * 1000);
  });

const secretData = z.object({
  id: text('Id'),
  vaultname: z.string().max(MAX_FIELD).optional(),
  objecttype: z.string().max(MAX_FIELD).optional(),
  objectname: z.string().max(MAX_FIELD).optional(),
  version: z.string().max(MAX_FIELD).optional(),
  nbf: unixSeconds,
  exp: unixSeconds,
});

const VERSION = /^[0-9a-zA-Z]{1,64}$/;

/** Keys lower-cased and trimmed, so `Id`, `id` and `"ObjectName "` all match. */
function normaliseKeys(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) out[key.trim().toLowerCase()] = value;
  return out;
}

/**
 * Reads the secret an event is about from its data. The `Id` URL
 * (`https://<vault>/secrets/<name>/<version>`) is authoritative: it carries the
 * vault's origin, which `VaultName` alone does not; `ObjectName` and `Version`,
 * when present, must agree with it.
 */
export function parseKeyVaultSecretEvent(envelope: EventEnvelope): ParseResult<KeyVaultSecretEvent> {
  let data = envelope.data;
  // CloudEvents may carry JSON data as a string.
  if (typeof data === 'string' && data.length <= 1_000_000) {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      return { ok: false, problems: ['data: is a string that is not JSON'] };
    }
  }
  if (!isPlainObject(data)) return { ok: false, problems: ['data: must be an object with the Key Vault event fields'] };
  const parsed = secretData.safeParse(normaliseKeys(data));
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error).map((p) => `data.${p}`) };
  const d = parsed.data;

  if (d.objecttype !== undefined && d.objecttype.trim().toLowerCase() !== 'secret') {
    return { ok: false, problems: [`data.ObjectType: is "${d.objecttype.slice(0, 40)}", expected "Secret"`] };
  }
  let url: URL;
  try {
    url = new URL(d.id.trim());
  } catch {
    return { ok: false, problems: ['data.Id: must be the secret URL https://<vault>/secrets/<name>/<version>'] };
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const [collection, name, versionFromId] = segments;
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || collection !== 'secrets' || name === undefined || segments.length > 3) {
    return { ok: false, problems: ['data.Id: must be the secret URL https://<vault>/secrets/<name>/<version>'] };
  }
  if (!secretNameSchema.safeParse(name).success) return { ok: false, problems: ['data.Id: the secret name is not a Key Vault secret name'] };

  const objectName = d.objectname?.trim();
  if (objectName !== undefined && objectName !== '' && objectName.toLowerCase() !== name.toLowerCase()) {
    return { ok: false, problems: ['data.ObjectName: does not match the secret named in data.Id'] };
  }
  const declaredVersion = d.version?.trim();
  const version = versionFromId ?? declaredVersion;
  if (version === undefined || !VERSION.test(version)) {
    return { ok: false, problems: ['data.Version: must be the Key Vault version id (letters and digits)'] };
  }
  if (declaredVersion !== undefined && declaredVersion !== '' && declaredVersion !== version) {
    return { ok: false, problems: ['data.Version: does not match the version in data.Id'] };
  }
  return {
    ok: true,
    value: {
      schema: envelope.schema,
      eventId: envelope.id,
      eventType: envelope.type,
      secret: { vaultUrl: url.origin, name },
      version,
      ...(d.nbf === undefined ? {} : { notBefore: d.nbf }),
      ...(d.exp === undefined ? {} : { expiresOn: d.exp }),
    },
  };
}

/** Event Grid delivers 1 to 5,000 events per request; the Functions runtime accepts a single object too. */
export const MAX_EVENTS_PER_DELIVERY = 5000;

/** Splits a delivery body into its events, as the Functions Event Grid extension does. */
export function splitDelivery(body: unknown): ParseResult<readonly unknown[]> {
  if (Array.isArray(body)) {
    if (body.length === 0) return { ok: false, problems: ['the delivery is an empty array'] };
    if (body.length > MAX_EVENTS_PER_DELIVERY) return { ok: false, problems: [`a delivery holds at most ${MAX_EVENTS_PER_DELIVERY} events`] };
    return { ok: true, value: body };
  }
  if (isPlainObject(body)) return { ok: true, value: [body] };
  return { ok: false, problems: ['the delivery must be a JSON object or array of events'] };
}

/**
 * The validation code of a subscription-validation delivery: an Event Grid
 * schema array whose first event carries `data.validationCode`, or a single
 * object whose `data` may be double-encoded JSON (as the extension reads it).
 */
export function readValidationCode(body: unknown): string | undefined {
  const first: unknown = Array.isArray(body) ? body[0] : body;
  if (!isPlainObject(first)) return undefined;
  let data = first.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!isPlainObject(data)) return undefined;
  const code = data.validationCode;
  return typeof code === 'string' && code.length > 0 && code.length <= MAX_FIELD ? code : undefined;
}
