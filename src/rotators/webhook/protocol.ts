import { z } from 'zod';
import type { SecretRef } from '../../keyvault/secret-ref.js';
import type { Strategy } from '../../rotation/model.js';

/**
 * The wire contract between Rotor and an owner's endpoint (docs/rotators/webhook.md).
 * Every call is a signed `POST` of a `WebhookRequest`; only `prepare` and
 * `test` answer with a body Rotor reads.
 */
export const WEBHOOK_PROTOCOL = 'rotor-webhook/1';

export const WebhookStep = {
  Prepare: 'prepare',
  Apply: 'apply',
  Test: 'test',
  Restore: 'restore',
  Revoke: 'revoke',
} as const;
export type WebhookStep = (typeof WebhookStep)[keyof typeof WebhookStep];

/** A credential as it travels to the receiver: inside the signed body, over TLS, and nowhere else. */
export interface WireCredential {
  readonly value: string;
  readonly slot?: string;
  readonly version?: string;
  readonly refs?: Readonly<Record<string, string>>;
}

export interface WebhookRequest {
  readonly protocol: typeof WEBHOOK_PROTOCOL;
  /** Unique per HTTP attempt: receivers refuse one they have seen (replay). */
  readonly deliveryId: string;
  /** Same for every call of one rotation: receivers key idempotence on (rotationId, step). */
  readonly rotationId: string;
  readonly step: WebhookStep;
  /** The engine's attempt of this step (1, then 2+ on retries and redeliveries). */
  readonly attempt: number;
  readonly secret: SecretRef;
  readonly strategy: Strategy;
  /** `rotor-target`, passed through: which credential at the provider. */
  readonly target?: string;
  /** The version the secret holds now (no value): for prepare, which slot is live. */
  readonly current: { readonly version: string; readonly slot?: string };
  /** apply: the prepared credential; test: the one to try; restore: the previous one; revoke: the superseded one. */
  readonly credential?: WireCredential;
  /** restore: what prepare made, to undo. */
  readonly prepared?: WireCredential;
}

const MAX_VALUE_CHARS = 25 * 1024; // Key Vault's value limit

export const prepareResponseSchema = z.object({
  credential: z.string().min(1).max(MAX_VALUE_CHARS),
  slot: z.string().min(1).max(256).optional(),
  contentType: z.string().min(1).max(255).optional(),
  refs: z.record(z.string().max(256), z.string().max(512)).optional(),
});
export type PrepareResponse = z.infer<typeof prepareResponseSchema>;

export const testResponseSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), reason: z.string().min(1).max(500) }),
]);
export type TestResponse = z.infer<typeof testResponseSchema>;
