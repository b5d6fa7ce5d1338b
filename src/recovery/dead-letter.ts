import { z } from 'zod';
import { secretRefSchema } from '../keyvault/secret-ref.js';
import { parseStartMessage } from '../events/start-message.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import { parseStepMessage } from '../queue/step-message.js';
import type { StepMessage } from '../rotation/ports.js';
import type { EntryServices } from '../entry/services.js';

/**
 * A step message that reached the dead-letter sub-queue: delivered too often
 * (the step handler kept throwing) or unreadable. The rotation it stalled
 * cannot go on, so the engine ends it as a permanent failure of that step
 * (the machine's table: rollback up to verify if it had changed the world,
 * Failed otherwise, never a rollback after verify), with the dead-letter
 * reason, and notifies. An unreadable
 * body is traced through its session id (the secret) to the rotation holding
 * the secret's lock.
 */

/** What the Functions runtime (and the local host) hand the handler besides the body. */
const deadLetterMetadataSchema = z
  .object({
    sessionId: z.string().max(400),
    deadLetterReason: z.string(),
    deadLetterErrorDescription: z.string(),
    applicationProperties: z.record(z.string(), z.unknown()),
  })
  .partial();

export interface DeadLetterInput {
  readonly body: unknown;
  readonly metadata: unknown;
}

export type DeadLetterResult =
  | { readonly outcome: 'rolling-back' | 'failed' | 'ignored'; readonly rotationId: string; readonly reason: string }
  | { readonly outcome: 'unattributable'; readonly reason: string }
  /** An event the intake enqueued whose start never ran: no rotation was begun, so none is ended; the sweep still finds the secret if it is due. */
  | { readonly outcome: 'start-dropped'; readonly reason: string };

function text(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined;
}

function metadataOf(metadata: unknown): z.infer<typeof deadLetterMetadataSchema> {
  const parsed = deadLetterMetadataSchema.safeParse(metadata ?? {});
  return parsed.success ? parsed.data : {};
}

/** `dead-lettered: MaxDeliveryCountExceeded: Message could not be consumed after 10 delivery attempts.` */
export function deadLetterReasonOf(metadata: unknown): string {
  const m = metadataOf(metadata);
  const props = m.applicationProperties ?? {};
  const reason = text(m.deadLetterReason, 200) ?? text(props.DeadLetterReason, 200) ?? 'unknown reason';
  const description = text(m.deadLetterErrorDescription, 500) ?? text(props.DeadLetterErrorDescription, 500);
  return description === undefined ? reason : `${reason}: ${description}`;
}

/**
 * The secrets a session id may name. Sessions are `<vault host>/<name>`
 * (`stepSessionId`), which drops the scheme, so both are tried (the local
 * emulator's vault may be plain http).
 */
function secretsFromSession(sessionId: string | undefined): { vaultUrl: string; name: string }[] {
  if (sessionId === undefined) return [];
  const slash = sessionId.indexOf('/');
  if (slash <= 0) return [];
  const host = sessionId.slice(0, slash);
  const name = sessionId.slice(slash + 1);
  return [`https://${host}`, `http://${host}`]
    .map((vaultUrl) => secretRefSchema.safeParse({ vaultUrl, name }))
    .flatMap((parsed) => (parsed.success ? [parsed.data] : []));
}

/** An unreadable body stands for whatever step its rotation is at: that is the step it stalled. */
async function currentStepOfSession(sessionId: string | undefined, services: EntryServices): Promise<StepMessage | undefined> {
  for (const secret of secretsFromSession(sessionId)) {
    const rotationId = await services.ledger.activeRotation(secret);
    if (rotationId === undefined) continue;
    const rotation = (await services.ledger.getRotation(rotationId))?.value;
    if (rotation !== undefined) return { rotationId, secret: rotation.secret, step: rotation.step, attempt: rotation.attempt ?? 1 };
  }
  return undefined;
}

export async function handleDeadLetteredStep(input: DeadLetterInput, services: EntryServices): Promise<DeadLetterResult> {
  const reason = deadLetterReasonOf(input.metadata);
  const sessionId = metadataOf(input.metadata).sessionId;
  const start = parseStartMessage(input.body);
  if (start.ok) {
    // Never the session's current step: that belongs to another rotation, which this message knows nothing of.
    services.log.error('dead-lettered event start dropped: no rotation was started for it', {
      secretRef: formatSecretRef(start.start.secret),
      version: start.start.version,
      eventId: start.start.eventId,
      reason,
    });
    return { outcome: 'start-dropped', reason };
  }
  const parsed = parseStepMessage(input.body);
  const message = parsed.ok ? parsed.message : await currentStepOfSession(sessionId, services);
  if (message === undefined) {
    services.log.error('dead-lettered step names no rotation', { reason, ...(sessionId === undefined ? {} : { sessionId }) });
    return { outcome: 'unattributable', reason };
  }
  const outcome = await services.failRotation(message, reason);
  services.log.warn('dead-lettered step handled', { rotationId: message.rotationId, step: message.step, attempt: message.attempt, outcome, reason });
  return { outcome, rotationId: message.rotationId, reason };
}
