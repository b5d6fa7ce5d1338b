import type { StoredEvent } from './envelopes.js';
import type { FieldProblem } from './errors.js';
import { cloudEventInputSchema, eventGridEventInputSchema, problemsOf } from './schemas.js';
import type { EventSchema } from './types.js';

/** The service's ceiling for one publish request (the array, and so each event in it): 1 MB. */
export const maxPublishBytes = 1024 * 1024;

export interface TopicIdentity {
  readonly name: string;
  readonly resourceId: string;
  readonly inputSchema: EventSchema;
}

export type PublishParseResult =
  | { readonly ok: true; readonly events: StoredEvent[] }
  | { readonly ok: false; readonly message: string; readonly problems: readonly FieldProblem[] };

function refuse(message: string, problems: readonly FieldProblem[] = []): PublishParseResult {
  return { ok: false, message, problems };
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Event Grid schema input: a JSON array; the service stamps `topic`, `dataVersion` and `metadataVersion`. */
function parseEventGridBatch(topic: TopicIdentity, body: unknown): PublishParseResult {
  if (!Array.isArray(body)) return refuse('An Event Grid schema topic expects a JSON array of events.');
  if (body.length === 0) return refuse('The request contains no events.');
  const events: StoredEvent[] = [];
  const problems: FieldProblem[] = [];
  body.forEach((candidate: unknown, index) => {
    const parsed = eventGridEventInputSchema.safeParse(candidate);
    if (!parsed.success) {
      problems.push(...problemsOf(parsed.error, `[${index}]`));
      return;
    }
    const event = parsed.data;
    if (event.topic !== undefined && event.topic !== topic.resourceId) {
      problems.push({ field: `[${index}].topic`, message: `must be omitted or equal the topic's resource id ${topic.resourceId}` });
      return;
    }
    events.push({
      schema: 'EventGridSchema',
      event: {
        id: event.id,
        topic: topic.resourceId,
        subject: event.subject,
        eventType: event.eventType,
        eventTime: event.eventTime,
        data: event.data,
        dataVersion: event.dataVersion ?? '',
        metadataVersion: '1',
      },
    });
  });
  return problems.length > 0 ? refuse('One or more events are not valid Event Grid schema events.', problems) : { ok: true, events };
}

/** CloudEvents input, structured mode: one event (`application/cloudevents+json`) or a batch (`...-batch+json`). */
function parseCloudEvents(mediaType: string, body: unknown): PublishParseResult {
  let candidates: unknown[];
  if (mediaType === 'application/cloudevents-batch+json') {
    if (!Array.isArray(body)) return refuse('A CloudEvents batch (application/cloudevents-batch+json) must be a JSON array.');
    candidates = body;
  } else if (mediaType === 'application/cloudevents+json') {
    if (Array.isArray(body) || typeof body !== 'object' || body === null) {
      return refuse('A single CloudEvent (application/cloudevents+json) must be a JSON object.');
    }
    candidates = [body];
  } else {
    return refuse(
      `A CloudEvents topic expects Content-Type application/cloudevents+json or application/cloudevents-batch+json, not '${mediaType || '(none)'}'.`,
    );
  }
  if (candidates.length === 0) return refuse('The request contains no events.');
  const events: StoredEvent[] = [];
  const problems: FieldProblem[] = [];
  candidates.forEach((candidate, index) => {
    const parsed = cloudEventInputSchema.safeParse(candidate);
    if (parsed.success) events.push({ schema: 'CloudEventSchemaV1_0', event: parsed.data });
    else problems.push(...problemsOf(parsed.error, `[${index}]`));
  });
  return problems.length > 0 ? refuse('One or more events are not valid CloudEvents 1.0.', problems) : { ok: true, events };
}

/** Validates one publish request body against the topic's input schema. */
export function parsePublishBody(topic: TopicIdentity, contentType: string | undefined, raw: Buffer): PublishParseResult {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return refuse('The request body is not valid JSON.');
  }
  const mediaType = mediaTypeOf(contentType);
  switch (topic.inputSchema) {
    case 'EventGridSchema':
      if (mediaType.startsWith('application/cloudevents')) {
        return refuse(`Topic '${topic.name}' accepts the Event Grid schema; CloudEvents were sent.`);
      }
      return parseEventGridBatch(topic, body);
    case 'CloudEventSchemaV1_0':
      return parseCloudEvents(mediaType, body);
  }
}
