import { createHash } from 'node:crypto';
import { z } from 'zod';
import { secretRefSchema, type SecretRef } from '../keyvault/secret-ref.js';
import { StepName } from '../rotation/model.js';
import type { StepMessage } from '../rotation/ports.js';

/** The step message body on the wire: references only (I5). Unknown fields are refused. */
export const stepMessageSchema = z.strictObject({
  rotationId: z.string().regex(/^[0-9a-zA-Z-]{1,64}$/, 'must be a rotation id'),
  secret: secretRefSchema,
  step: z.enum(Object.values(StepName) as [StepName, ...StepName[]]),
  attempt: z.number().int().min(1).max(1000),
});

export type StepMessageParse = { readonly ok: true; readonly message: StepMessage } | { readonly ok: false; readonly problem: string };

/**
 * A received body as a value: an object (the Functions host hands JSON bodies
 * over parsed), a JSON string, or JSON bytes; `undefined` when it is not JSON.
 */
export function decodeMessageBody(body: unknown): { readonly value: unknown } | undefined {
  try {
    if (typeof body === 'string') return { value: JSON.parse(body) as unknown };
    if (body instanceof Uint8Array) return { value: JSON.parse(Buffer.from(body).toString('utf8')) as unknown };
    return { value: body };
  } catch {
    return undefined;
  }
}

/** Parses a received body (see `decodeMessageBody`) as a step message. */
export function parseStepMessage(body: unknown): StepMessageParse {
  const decoded = decodeMessageBody(body);
  if (decoded === undefined) return { ok: false, problem: 'the body is not JSON' };
  const candidate = decoded.value;
  const parsed = stepMessageSchema.safeParse(candidate);
  if (!parsed.success) {
    return { ok: false, problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, message: parsed.data };
}

const MAX_SESSION_ID = 128;

/**
 * One session per secret, so its steps run in order on one instance at a
 * time: `<vault host>/<name>`, lower-cased (Key Vault names are
 * case-insensitive). Longer than Service Bus's 128 characters: a readable
 * prefix and the SHA-256 of the whole.
 */
export function stepSessionId(secret: SecretRef): string {
  const full = `${new URL(secret.vaultUrl).host}/${secret.name}`.toLowerCase();
  if (full.length <= MAX_SESSION_ID) return full;
  return `${full.slice(0, 60)}#${createHash('sha256').update(full).digest('hex')}`;
}

/** Same (rotation, step, attempt) → same id, so Service Bus duplicate detection drops a re-send. */
export function stepMessageId(message: Pick<StepMessage, 'rotationId' | 'step' | 'attempt'>): string {
  return `${message.rotationId}:${message.step}:${message.attempt}`;
}
