/**
 * Wire shapes the Event Grid emulator speaks. Key Vault's system events are
 * the Key Vault emulator's own type, re-exported: one definition of the shape.
 */
export type { KeyVaultEventType, KeyVaultSystemEvent } from '../keyvault/events.js';

/** A complete Event Grid schema envelope, as the service stamps and delivers it. */
export interface EventGridEnvelope {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: unknown;
  dataVersion: string;
  metadataVersion: '1';
}

/** A CloudEvents 1.0 event in the JSON format (structured mode). */
export interface CloudEventEnvelope {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
  /** Extension attributes (lower-case alphanumeric names). */
  [extension: string]: unknown;
}

/** The schemas a topic accepts and a subscription delivers in (ARM spellings). */
export const eventSchemas = {
  EventGridSchema: 'EventGridSchema',
  CloudEventSchemaV1_0: 'CloudEventSchemaV1_0',
} as const;
export type EventSchema = (typeof eventSchemas)[keyof typeof eventSchemas];

/** Delivery payload of one event, in whichever schema its subscription uses. */
export type DeliveredEvent =
  | { readonly schema: 'EventGridSchema'; readonly event: EventGridEnvelope }
  | { readonly schema: 'CloudEventSchemaV1_0'; readonly event: CloudEventEnvelope };
