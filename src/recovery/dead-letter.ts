import { z } from 'zod';
import { secretRefSchema } from '../keyvault/secret-ref.js';
import { StepName } from '../rotation/model.js';
import { endRotation, type RecoveryDependencies, type RecoveryOutcome } from './end-rotation.js';

/**
 * A step message that reached the dead-letter sub-queue: delivered too often
 * (the handler kept throwing), or rejected by the handler as unreadable. The
 * rotation it belongs to cannot go on, so it ends: Failed, or rolled back if
 * it had promoted. The session id is the secret, so even a message whose body
 * is unreadable still names the secret whose active rotation it stalled.
 */

const stepMessageSchema = z.object({
  rotationId: z.string().min(1).max(200),
  secret: secretRefSchema,
  step: z.enum(Object.values(StepName) as [StepName, ...StepName[]]),
  attempt: z.number().int().min(1),
});

/** What the Functions runtime (and the local host) hand the handler besides the body. */
const deadLetterMetadataSchema = z
  .object({
    messageId: z.unknown().optional(),
    sessionId: z.string().max(400).optional(),
    deliveryCount: z.number().optional(),
    deadLetterReason: z.string().optional(),
    deadLetterErrorDescription: z.string().optional(),
    applicationProperties: z.record(z.string(), z.unknown()).optional(),
  })
  .partial();

export interface DeadLetterInput {
  readonly body: unknown;
  readonly metadata: unknown;
}

export type DeadLetterResult =
  | { readonly outcome: RecoveryOutcome; readonly rotationId: string; readonly reason: string }
  | { readonly outcome: 'unattributable'; readonly reason: string };

function text(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined;
}

/** `MaxDeliveryCountExceeded: Message could not be consumed after 10 delivery attempts.` */
export function deadLetterReasonOf(metadata: unknown): string {
  const parsed = deadLetterMetadataSchema.safeParse(metadata ?? {});
  const m = parsed.success ? parsed.data : {};
  const props = m.applicationProperties ?? {};
  const reason = text(m.deadLetterReason, 200) ?? text(props.DeadLetterReason, 200) ?? 'unknown reason';
  const description = text(m.deadLetterErrorDescription, 500) ?? text(props.DeadLetterErrorDescription, 500);
  return description === undefined ? `dead-lettered: ${reason}` : `dead-lettered: ${reason}: ${description}`;
}

/**
 * The secrets a session id may name. Sessions are `formatSecretRef` of the
 * secret (`kv-app.vault.azure.net/db-password`), which drops the scheme, so
 * both are tried (the local emulator's vault may be plain http).
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

export async function handleDeadLetteredStep(input: DeadLetterInput, deps: RecoveryDependencies): Promise<DeadLetterResult> {
  const reason = deadLetterReasonOf(input.metadata);
  const metadata = deadLetterMetadataSchema.safeParse(input.metadata ?? {});
  const sessionId = metadata.success ? metadata.data.sessionId : undefined;

  let rotationId: string | undefined;
  const message = stepMessageSchema.safeParse(input.body);
  if (message.success) {
    rotationId = message.data.rotationId;
  } else {
    // Unreadable body: the session still names the secret, and its lock names the rotation.
    for (const secret of secretsFromSession(sessionId)) {
      rotationId ??= await deps.ledger.activeRotation(secret);
    }
  }
  if (rotationId === undefined) {
    deps.log.error('dead-lettered message names no rotation', { reason, ...(sessionId === undefined ? {} : { sessionId }) });
    return { outcome: 'unattributable', reason };
  }
  const outcome = await endRotation(rotationId, reason, deps);
  deps.log.warn('dead-lettered step handled', { rotationId, outcome, reason });
  return { outcome, rotationId, reason };
}
