import { z } from 'zod';
import { secretNameSchema, vaultUrlSchema } from '../keyvault/secret-ref.js';

/**
 * An incident batch: every selected secret of one vault rotated now, with
 * the reason an operator gave. The record names the secrets and the rotation
 * each one got (or why it got none); progress is read from the rotations
 * themselves, so the record is written once and never races the steps.
 */

/** Which secrets of the vault: all, those carrying every given tag value, or by name. */
export type BatchSelector =
  | { readonly all: true }
  | { readonly tags: Readonly<Record<string, string>> }
  | { readonly names: readonly string[] };

export const BatchItemOutcome = {
  /** A rotation was started for it. */
  Started: 'started',
  /** The secret already had an active rotation: the batch follows that one. */
  Active: 'active',
  /** Not rotated, with the reason (unmanaged, invalid policy, paused, disabled, not found). */
  Skipped: 'skipped',
  /** Dry run: it would be rotated. */
  WouldRotate: 'would-rotate',
} as const;
export type BatchItemOutcome = (typeof BatchItemOutcome)[keyof typeof BatchItemOutcome];

export type BatchItem =
  | { readonly secret: string; readonly outcome: 'started' | 'active'; readonly rotationId: string; /** Paced start (ISO-8601), when later than the batch. */ readonly startAt?: string }
  | { readonly secret: string; readonly outcome: 'skipped'; readonly reason: string }
  | { readonly secret: string; readonly outcome: 'would-rotate' };

export interface Batch {
  readonly id: string;
  readonly vaultUrl: string;
  readonly selector: BatchSelector;
  readonly reason: string;
  readonly dryRun: boolean;
  /** Paused secrets are rotated too. */
  readonly force: boolean;
  readonly createdAt: string;
  readonly items: readonly BatchItem[];
}

const selectorSchema = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ tags: z.record(z.string(), z.string()) }),
  z.strictObject({ names: z.array(secretNameSchema) }),
]);

/** The record as stored; parsed on every read, like the rotation records. */
export const batchSchema = z.object({
  id: z.string().min(1),
  vaultUrl: vaultUrlSchema,
  selector: selectorSchema,
  reason: z.string(),
  dryRun: z.boolean(),
  force: z.boolean(),
  createdAt: z.string(),
  items: z.array(
    z.union([
      z.strictObject({ secret: z.string(), outcome: z.enum(['started', 'active']), rotationId: z.string(), startAt: z.string().optional() }),
      z.strictObject({ secret: z.string(), outcome: z.literal('skipped'), reason: z.string() }),
      z.strictObject({ secret: z.string(), outcome: z.literal('would-rotate') }),
    ]),
  ),
}) satisfies z.ZodType<Batch>;

/** Batch ids are Rotor's own: `b-` and 24 hex characters; this bounds what reaches a blob name. */
export const batchIdSchema = z.string().regex(/^b-[0-9a-f]{24}$/, 'must be a batch id such as b-0123456789abcdef01234567');
