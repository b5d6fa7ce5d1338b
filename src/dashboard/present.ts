import { z } from 'zod';
import type { Rotation } from '../rotation/model.js';
import { presentStep, type StepView } from '../api/present.js';

/**
 * What the dashboard shows of a rotation, field by field (a whitelist, so a
 * field added to the record later never reaches the page by accident): ids,
 * states, times, step outcomes and reasons. The ledger holds no value (I5);
 * the policy snapshot, with its raw tags, is left out altogether.
 */
export interface RotationView {
  readonly id: string;
  readonly secret: { readonly vaultUrl: string; readonly name: string };
  readonly status: string;
  readonly step: string;
  readonly attempt: number;
  readonly rotator: string;
  readonly strategy: string;
  readonly dryRun: boolean;
  readonly trigger: { readonly kind: string; readonly reason?: string; readonly eventType?: string };
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly endedAt?: string;
  readonly notBefore?: string;
  readonly reason?: string;
  readonly versions: { readonly previous?: string; readonly promoted?: string; readonly restored?: string };
  readonly steps: readonly StepView[];
  /** Each declared consumer's adoption of the promoted version, when the record has it. */
  readonly consumers?: readonly ConsumerAdoptionView[];
  /** What a running rotation waits for, in words. */
  readonly waitingFor?: string;
}

export interface ConsumerAdoptionView {
  readonly name: string;
  readonly state?: string;
  readonly version?: string;
  readonly at?: string;
  readonly detail?: string;
}

const text = (max: number) => z.string().max(max).optional().catch(undefined);

/**
 * Consumer adoption, read loosely: the consumers capability (#13) records it
 * as `adoption: { deadline, consumers: [{ entry, kind, state, version,
 * report, reportedAt, adoptedAt, ... }] }`; whatever of an entry is
 * recognisable is shown, anything else is dropped. An entry that is a URL is
 * shown without its query and user info, where a key could sit.
 */
const adoptionEntry = z
  .object({
    entry: text(2048),
    name: text(200),
    kind: text(40),
    state: text(60),
    version: text(64),
    adoptedAt: text(40),
    reportedAt: text(40),
    report: text(300),
    returnError: text(300),
  })
  .loose();

const adoptionSchema = z.object({ deadline: text(40), consumers: z.array(z.unknown()).catch([]) }).loose();

function consumerName(entry: string): string {
  if (!/^https?:/i.test(entry)) return entry.slice(0, 300);
  try {
    const url = new URL(entry);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

function adoptionOf(rotation: Rotation): z.infer<typeof adoptionSchema> | undefined {
  const parsed = adoptionSchema.safeParse((rotation as unknown as { adoption?: unknown }).adoption);
  return parsed.success ? parsed.data : undefined;
}

function consumersOf(rotation: Rotation): ConsumerAdoptionView[] | undefined {
  const adoption = adoptionOf(rotation);
  if (adoption === undefined) return undefined;
  const views: ConsumerAdoptionView[] = [];
  for (const raw of adoption.consumers) {
    const parsed = adoptionEntry.safeParse(raw);
    if (!parsed.success) continue;
    const e = parsed.data;
    const entry = e.entry ?? e.name;
    if (entry === undefined) continue;
    const at = e.adoptedAt ?? e.reportedAt;
    const detail = e.returnError ?? e.report;
    views.push({
      name: consumerName(entry),
      ...(e.state === undefined ? {} : { state: e.state }),
      ...(e.version === undefined ? {} : { version: e.version }),
      ...(at === undefined ? {} : { at }),
      ...(detail === undefined ? {} : { detail }),
    });
  }
  return views;
}

/** What a running rotation is waiting for: its next step's message, and why it is scheduled later if it is. */
export function waitingFor(rotation: Rotation, now: Date): string | undefined {
  if (rotation.endedAt !== undefined) return undefined;
  const attempt = rotation.attempt ?? 1;
  const lastError = [...rotation.steps].reverse().find((s) => s.error !== undefined)?.error?.code;
  const due = rotation.notBefore === undefined ? undefined : Date.parse(rotation.notBefore);
  const later = due !== undefined && due > now.getTime();
  const verb = rotation.status === 'RollingBack' ? 'rollback step' : 'step';
  if (later && attempt > 1) return `retry ${attempt} of ${rotation.step}${lastError === undefined ? '' : ` after ${lastError}`}, due ${rotation.notBefore}`;
  const adoptionDeadline = adoptionOf(rotation)?.deadline;
  if (rotation.step === 'verify' && adoptionDeadline !== undefined && Date.parse(adoptionDeadline) > now.getTime()) {
    return `consumers to adopt the new version (until ${adoptionDeadline}), then verify`;
  }
  if (later && rotation.step === 'verify') return `grace period for consumers to pick up the new version, then verify at ${rotation.notBefore}`;
  if (later && rotation.step === 'revoke') return `revoke-after delay: the old credential is revoked at ${rotation.notBefore}`;
  if (later) return `${verb} ${rotation.step}, scheduled for ${rotation.notBefore}`;
  return `${verb} ${rotation.step}${attempt > 1 ? ` (attempt ${attempt})` : ''}: its message is on the step queue`;
}

export function presentRotation(rotation: Rotation, now: Date): RotationView {
  const consumers = consumersOf(rotation);
  const waiting = waitingFor(rotation, now);
  return {
    id: rotation.id,
    secret: { vaultUrl: rotation.secret.vaultUrl, name: rotation.secret.name },
    status: rotation.status,
    step: rotation.step,
    attempt: rotation.attempt ?? 1,
    rotator: rotation.rotator,
    strategy: rotation.strategy,
    dryRun: rotation.dryRun,
    trigger: {
      kind: rotation.trigger.kind,
      ...(rotation.trigger.reason === undefined ? {} : { reason: rotation.trigger.reason }),
      ...(rotation.trigger.eventType === undefined ? {} : { eventType: rotation.trigger.eventType }),
    },
    createdAt: rotation.createdAt,
    updatedAt: rotation.updatedAt,
    ...(rotation.endedAt === undefined ? {} : { endedAt: rotation.endedAt }),
    ...(rotation.notBefore === undefined ? {} : { notBefore: rotation.notBefore }),
    ...(rotation.reason === undefined ? {} : { reason: rotation.reason }),
    versions: {
      ...(rotation.versions.previous === undefined ? {} : { previous: rotation.versions.previous }),
      ...(rotation.versions.promoted === undefined ? {} : { promoted: rotation.versions.promoted }),
      ...(rotation.versions.restored === undefined ? {} : { restored: rotation.versions.restored }),
    },
    steps: rotation.steps.map(presentStep),
    ...(consumers === undefined ? {} : { consumers }),
    ...(waiting === undefined ? {} : { waitingFor: waiting }),
  };
}

/** Why an ended rotation needs a human, or `undefined` when it does not. */
export function needsHumanBecause(rotation: Rotation): string | undefined {
  if (rotation.status === 'RolledBack') return `rolled back: ${rotation.reason ?? 'no reason recorded'}`;
  if (rotation.status !== 'Failed') return undefined;
  const verified = rotation.steps.some((s) => s.step === 'verify' && s.outcome === 'succeeded');
  if (verified) return `failed after verify (the new credential is kept): ${rotation.reason ?? 'no reason recorded'}`;
  if (rotation.step === 'rollback' || rotation.steps.some((s) => s.step === 'rollback')) return `rollback failed: ${rotation.reason ?? 'no reason recorded'}`;
  if (rotation.versions.promoted !== undefined) return `failed after promote: ${rotation.reason ?? 'no reason recorded'}`;
  return undefined;
}
