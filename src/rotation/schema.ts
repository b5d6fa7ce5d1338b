import { z } from 'zod';
import { secretRefSchema } from '../keyvault/secret-ref.js';
import { ConsumerState, RotationStatus, StepName, Strategy, TriggerKind, UndoAction, type Rotation } from './model.js';

/**
 * The rotation record as stored (ledger blobs): parsed on every read, so a
 * record written by something else, or by an incompatible Rotor, is refused
 * with the field that is wrong instead of being trusted.
 */
const stringMap = z.record(z.string(), z.string());
const values = <T extends string>(set: Record<string, T>) => z.enum(Object.values(set) as [T, ...T[]]);

const policySchema = z.object({
  rotator: z.string(),
  target: z.string().optional(),
  strategy: values(Strategy),
  validityMs: z.number(),
  graceMs: z.number(),
  health: z.array(z.object({ url: z.string(), expectStatus: z.number().int() })),
  revokeAfterMs: z.number().optional(),
  adoptionTimeoutMs: z.number().optional(),
  tags: stringMap,
});

const adoptionSchema = z.object({
  timeoutMs: z.number(),
  deadline: z.string().optional(),
  consumers: z.array(
    z.object({
      entry: z.string(),
      kind: z.enum(['appservice', 'containerapp', 'https']),
      state: values(ConsumerState),
      nudgedAt: z.string().optional(),
      nudge: z.string().optional(),
      version: z.string().optional(),
      report: z.string().optional(),
      reportedAt: z.string().optional(),
      adoptedAt: z.string().optional(),
      returnedAt: z.string().optional(),
      returnError: z.string().optional(),
    }),
  ),
});

export const rotationSchema = z.object({
  id: z.string().min(1),
  secret: secretRefSchema,
  trigger: z.object({
    kind: values(TriggerKind),
    eventType: z.string().optional(),
    eventId: z.string().optional(),
    version: z.string().optional(),
    reason: z.string().optional(),
  }),
  rotator: z.string(),
  strategy: values(Strategy),
  status: values(RotationStatus),
  step: values(StepName),
  attempt: z.number().int().min(1).optional(),
  notBefore: z.string().optional(),
  dryRun: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deadline: z.string(),
  endedAt: z.string().optional(),
  versions: z.object({
    previous: z.string().optional(),
    promoted: z.string().optional(),
    restored: z.string().optional(),
    pending: z.string().optional(),
  }),
  prepared: z.object({ contentType: z.string().optional(), refs: stringMap.optional() }).optional(),
  slots: z.object({ previous: z.string().optional(), next: z.string().optional() }).optional(),
  policy: policySchema.optional(),
  steps: z.array(
    z.object({
      step: values(StepName),
      attempt: z.number().int(),
      startedAt: z.string(),
      endedAt: z.string(),
      outcome: z.enum(['succeeded', 'retrying', 'waiting', 'throttled', 'failed']),
      detail: z.string().optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
  undo: z.array(
    z.union([
      z.object({ step: z.literal(StepName.Prepare), action: z.literal(UndoAction.Prepared), refs: stringMap }),
      z.object({ step: z.literal(StepName.Apply), action: z.literal(UndoAction.Applied), refs: stringMap }),
      z.object({ step: z.literal(StepName.Promote), action: z.literal(UndoAction.Promoted), refs: stringMap }),
    ]),
  ),
  adoption: adoptionSchema.optional(),
  reason: z.string().optional(),
  cancel: z.object({ requestedAt: z.string(), reason: z.string().optional(), via: z.enum(['undo', 'rollback']) }).optional(),
}) satisfies z.ZodType<Rotation>;
