import type { AdoptionRecord, Rotation, RotationTrigger, StepRecord } from '../rotation/model.js';
import type { RotationSummary } from '../rotation/ports.js';
import type { RotationPolicy } from '../rotation/policy-types.js';
import type { PolicyReading } from '../entry/services.js';

/**
 * What the API shows of Rotor's records, field by field. Each mapper lists the
 * fields it exposes, so a field added to a record later stays out of every
 * response until someone decides it belongs there (a record is references
 * only, but a policy's raw tags or a probe URL's query may carry anything).
 */

const some = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

export function presentRotation(rotation: Rotation, links: { readonly self: string; readonly history: string }): unknown {
  return {
    id: rotation.id,
    secret: { vaultUrl: rotation.secret.vaultUrl, name: rotation.secret.name },
    trigger: presentTrigger(rotation.trigger),
    rotator: rotation.rotator,
    strategy: rotation.strategy,
    status: rotation.status,
    step: rotation.step,
    ...some('attempt', rotation.attempt),
    ...some('notBefore', rotation.notBefore),
    dryRun: rotation.dryRun,
    createdAt: rotation.createdAt,
    updatedAt: rotation.updatedAt,
    deadline: rotation.deadline,
    ...some('endedAt', rotation.endedAt),
    versions: {
      ...some('previous', rotation.versions.previous),
      ...some('promoted', rotation.versions.promoted),
      ...some('restored', rotation.versions.restored),
      ...some('pending', rotation.versions.pending),
    },
    ...some('prepared', rotation.prepared === undefined ? undefined : { ...some('contentType', rotation.prepared.contentType), ...some('refs', rotation.prepared.refs) }),
    ...some('slots', rotation.slots === undefined ? undefined : { ...some('previous', rotation.slots.previous), ...some('next', rotation.slots.next) }),
    ...some('policy', rotation.policy === undefined ? undefined : presentValidPolicy(rotation.policy)),
    steps: rotation.steps.map(presentStep),
    undo: rotation.undo.map((u) => ({ step: u.step, action: u.action, refs: u.refs })),
    ...some('adoption', rotation.adoption === undefined ? undefined : presentAdoption(rotation.adoption)),
    ...some('reason', rotation.reason),
    links: { self: links.self, history: links.history },
  };
}

/** A step's record as the API and the dashboard show it. */
export interface StepView {
  readonly step: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly outcome: string;
  readonly detail?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export function presentStep(s: StepRecord): StepView {
  return {
    step: s.step,
    attempt: s.attempt,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    outcome: s.outcome,
    ...some('detail', s.detail),
    ...some('error', s.error === undefined ? undefined : { code: s.error.code, message: s.error.message }),
  };
}

/** Each declared consumer: entries carry no query (docs/operations.md, "Consumers"); reports are Rotor's words, never a consumer's body. */
function presentAdoption(adoption: AdoptionRecord): unknown {
  return {
    timeoutMs: adoption.timeoutMs,
    ...some('deadline', adoption.deadline),
    consumers: adoption.consumers.map((c) => ({
      entry: c.entry,
      kind: c.kind,
      state: c.state,
      ...some('nudgedAt', c.nudgedAt),
      ...some('nudge', c.nudge),
      ...some('version', c.version),
      ...some('report', c.report),
      ...some('reportedAt', c.reportedAt),
      ...some('adoptedAt', c.adoptedAt),
      ...some('returnedAt', c.returnedAt),
      ...some('returnError', c.returnError),
    })),
  };
}

function presentTrigger(trigger: RotationTrigger): unknown {
  return {
    kind: trigger.kind,
    ...some('eventType', trigger.eventType),
    ...some('eventId', trigger.eventId),
    ...some('version', trigger.version),
    ...some('reason', trigger.reason),
  };
}

export function presentRotationSummary(item: RotationSummary, location: string): unknown {
  return {
    id: item.id,
    secret: { vaultUrl: item.secret.vaultUrl, name: item.secret.name },
    status: item.status,
    step: item.step,
    trigger: presentTrigger(item.trigger),
    createdAt: item.createdAt,
    ...some('endedAt', item.endedAt),
    ...some('reason', item.reason),
    location,
  };
}

/** The policy as an operator reads it: no raw tags, since a mis-tagged secret could carry anything in them. */
export function presentPolicy(reading: Exclude<PolicyReading, { kind: 'unmanaged' }>): unknown {
  if (reading.kind === 'invalid') {
    return { valid: false, ...some('rotator', reading.rotator), problems: reading.problems.map((p) => ({ tag: p.tag, message: p.message })) };
  }
  return presentValidPolicy(reading.policy);
}

/** A policy without its raw tags and with probe URLs cut to origin and path: either may carry a key. */
export function presentValidPolicy(p: RotationPolicy): unknown {
  return {
    valid: true,
    rotator: p.rotator,
    strategy: p.strategy,
    ...some('target', p.target),
    validitySeconds: Math.round(p.validityMs / 1000),
    graceSeconds: Math.round(p.graceMs / 1000),
    health: p.health.map((h) => ({ url: withoutCredentials(h.url), expectStatus: h.expectStatus })),
    ...some('revokeAfterSeconds', p.revokeAfterMs === undefined ? undefined : Math.round(p.revokeAfterMs / 1000)),
  };
}

/** A probe URL may carry a key in its query (`?code=`) or user info: shown without either. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
