/**
 * The trigger metadata of a dead-lettered message, as the Node worker hands
 * it over. The Service Bus extension puts the message's properties into the
 * binding data under their .NET names (`DeliveryCount`, `SessionId`,
 * `ApplicationProperties`, ...) and has no `DeadLetterReason` entry of its
 * own: Service Bus writes the reason and description into the message's
 * application properties. `@azure/functions` then camel-cases every key,
 * nested ones included (`fromRpcTriggerMetadata` → `toCamelCaseValue`), so the
 * handler sees `applicationProperties.deadLetterReason` and
 * `applicationProperties.deadLetterErrorDescription`.
 */
export interface DeadLetterMetadata {
  readonly sessionId?: string;
  readonly deliveryCount?: number;
  readonly messageId?: string;
  readonly deadLetterReason?: string;
  readonly deadLetterErrorDescription?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Reads the fields Rotor needs from the metadata of a dead-lettered step message; anything missing stays undefined. */
export function readDeadLetterMetadata(triggerMetadata: unknown): DeadLetterMetadata {
  const m = typeof triggerMetadata === 'object' && triggerMetadata !== null ? (triggerMetadata as Record<string, unknown>) : {};
  const props = typeof m.applicationProperties === 'object' && m.applicationProperties !== null ? (m.applicationProperties as Record<string, unknown>) : {};
  const sessionId = text(m.sessionId);
  const messageId = text(m.messageId);
  const reason = text(props.deadLetterReason);
  const description = text(props.deadLetterErrorDescription);
  return {
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(typeof m.deliveryCount === 'number' ? { deliveryCount: m.deliveryCount } : {}),
    ...(messageId === undefined ? {} : { messageId }),
    ...(reason === undefined ? {} : { deadLetterReason: reason }),
    ...(description === undefined ? {} : { deadLetterErrorDescription: description }),
  };
}
