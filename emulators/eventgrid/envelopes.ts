import type { SubscriptionConfig } from './schemas.js';
import type { CloudEventEnvelope, DeliveredEvent, EventGridEnvelope, EventSchema } from './types.js';

/**
 * Event Grid schema → CloudEvents 1.0, as the service maps a system event for
 * a CloudEvents subscription: topic becomes `source`, eventType `type`, and
 * `data` passes through untouched (Key Vault's PascalCase keys stay).
 */
export function toCloudEvent(event: EventGridEnvelope): CloudEventEnvelope {
  return {
    specversion: '1.0',
    id: event.id,
    source: event.topic,
    type: event.eventType,
    subject: event.subject,
    time: event.eventTime,
    data: event.data,
  };
}

/** What a topic holds: the event in its input schema. */
export type StoredEvent = DeliveredEvent;

/** The event as a subscription with `schema` receives it, or undefined if the service cannot convert it. */
export function eventForSchema(stored: StoredEvent, schema: EventSchema): DeliveredEvent | undefined {
  if (stored.schema === schema) return stored;
  if (stored.schema === 'EventGridSchema' && schema === 'CloudEventSchemaV1_0') {
    return { schema, event: toCloudEvent(stored.event) };
  }
  // CloudEvents input cannot be delivered as Event Grid schema (extension attributes would be lost).
  return undefined;
}

function typeOf(stored: StoredEvent): string {
  return stored.schema === 'EventGridSchema' ? stored.event.eventType : stored.event.type;
}

function subjectOf(stored: StoredEvent): string {
  return stored.event.subject ?? '';
}

/** The subscription's filter: event types compare case-insensitively; subjects per `isSubjectCaseSensitive`. */
export function matchesFilter(stored: StoredEvent, filter: SubscriptionConfig['filter']): boolean {
  const type = typeOf(stored).toLowerCase();
  if (filter.includedEventTypes !== undefined && !filter.includedEventTypes.some((t) => t.toLowerCase() === type)) {
    return false;
  }
  const fold = (s: string) => (filter.isSubjectCaseSensitive ? s : s.toLowerCase());
  const subject = fold(subjectOf(stored));
  if (filter.subjectBeginsWith !== undefined && !subject.startsWith(fold(filter.subjectBeginsWith))) return false;
  if (filter.subjectEndsWith !== undefined && !subject.endsWith(fold(filter.subjectEndsWith))) return false;
  return true;
}
