import type { SecretRef } from '../keyvault/secret-ref.js';
import { Strategy, type RotationPolicy } from './policy-types.js';

/** The strategy is part of the policy; re-exported here, where the record's other closed sets live. */
export { Strategy };

/**
 * The rotation as the ledger records it. It holds references and facts, never
 * values (I5): versions are Key Vault version ids, slots are names such as
 * `key1` or `app_b`, errors are codes and redacted text.
 */

export const RotationStatus = {
  Running: 'Running',
  RollingBack: 'RollingBack',
  Completed: 'Completed',
  RolledBack: 'RolledBack',
  Failed: 'Failed',
  Aborted: 'Aborted',
  Skipped: 'Skipped',
  /** An operator cancelled it before promote; what it had done is undone. */
  Cancelled: 'Cancelled',
} as const;
export type RotationStatus = (typeof RotationStatus)[keyof typeof RotationStatus];

export const terminalStatuses: ReadonlySet<RotationStatus> = new Set([
  RotationStatus.Completed,
  RotationStatus.RolledBack,
  RotationStatus.Failed,
  RotationStatus.Aborted,
  RotationStatus.Skipped,
  RotationStatus.Cancelled,
]);

export function isTerminal(status: RotationStatus): boolean {
  return terminalStatuses.has(status);
}

export const StepName = {
  Begin: 'begin',
  Prepare: 'prepare',
  Apply: 'apply',
  Promote: 'promote',
  /** Tell every declared consumer to re-read the secret (src/consumers/). */
  Nudge: 'nudge',
  Verify: 'verify',
  Retire: 'retire',
  Revoke: 'revoke',
  Rollback: 'rollback',
} as const;
export type StepName = (typeof StepName)[keyof typeof StepName];

/** What asked for a rotation: a Key Vault event, an operator (API, CLI, batch), or the sweep. */
export const TriggerKind = { Event: 'event', Manual: 'manual', Sweep: 'sweep' } as const;
export type TriggerKind = (typeof TriggerKind)[keyof typeof TriggerKind];

export interface RotationTrigger {
  readonly kind: TriggerKind;
  /** Key Vault event type for `event` triggers (`Microsoft.KeyVault.SecretNearExpiry`). */
  readonly eventType?: string;
  /** Event id, kept for the audit trail and duplicate detection. */
  readonly eventId?: string;
  /** The version the trigger was about; a stale one (no longer latest) is skipped. */
  readonly version?: string;
  /** Operator-supplied reason for manual rotations. */
  readonly reason?: string;
}

export interface StepRecord {
  readonly step: StepName;
  readonly attempt: number;
  readonly startedAt: string;
  readonly endedAt: string;
  /**
   * `waiting`: verify polled the consumers and some have not adopted yet; `throttled`: Key Vault's
   * budget (a 429 or Rotor's pacing) put the step off. Neither counts as a failed attempt.
   */
  readonly outcome: 'succeeded' | 'retrying' | 'waiting' | 'throttled' | 'failed';
  /** Short, value-free description (`new version 3f2a…`, `probe https://app/health 503`). */
  readonly detail?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export const UndoAction = {
  /** prepare wrote a pending version (and, alternating, minted on the inactive slot). */
  Prepared: 'prepared',
  /** apply made the new credential valid at the provider (single). */
  Applied: 'applied',
  /** promote wrote the new latest version. */
  Promoted: 'promoted',
} as const;
export type UndoAction = (typeof UndoAction)[keyof typeof UndoAction];

interface UndoOf<S extends StepName, A extends UndoAction> {
  readonly step: S;
  readonly action: A;
  /** References only: version ids, slot names, provider credential ids. */
  readonly refs: Readonly<Record<string, string>>;
}

/** What a step changed in the world, so rollback can walk it back (newest first); the action is fixed by the step. */
export type UndoRecord =
  | UndoOf<typeof StepName.Prepare, typeof UndoAction.Prepared>
  | UndoOf<typeof StepName.Apply, typeof UndoAction.Applied>
  | UndoOf<typeof StepName.Promote, typeof UndoAction.Promoted>;

/** The steps that change the world and so leave an undo record. */
export type UndoableStep = UndoRecord['step'];

/** Where a declared consumer stands; never a value, only versions and what it said. */
export const ConsumerState = {
  /** Declared; not nudged yet. */
  Declared: 'declared',
  /** Nudged; adoption not read yet (or the kind cannot report). */
  Nudged: 'nudged',
  /** Reported the promoted version. */
  Adopted: 'adopted',
  /** Reported another version, or a reference not resolved to it. */
  Behind: 'behind',
  /** Answered something Rotor could not read, or did not answer. */
  Unreadable: 'unreadable',
  /** A Container App: cannot report; the grace period and health probes stand in. */
  Unreported: 'unreported',
} as const;
export type ConsumerState = (typeof ConsumerState)[keyof typeof ConsumerState];

export interface ConsumerRecord {
  /** The entry as declared (`appservice:/subscriptions/…`, `https://…`). */
  readonly entry: string;
  readonly kind: 'appservice' | 'containerapp' | 'https';
  readonly state: ConsumerState;
  readonly nudgedAt?: string;
  /** What the nudge answered (`CloudEvent accepted (202)`). */
  readonly nudge?: string;
  /** The version it last reported. */
  readonly version?: string;
  /** What it last reported, or why it could not be read. */
  readonly report?: string;
  readonly reportedAt?: string;
  readonly adoptedAt?: string;
  /** Rollback nudged it back to the restored version at this instant (or `returnError` says why not). */
  readonly returnedAt?: string;
  readonly returnError?: string;
}

/** The consumers of this rotation, as the nudge step found them (tag and registry), and the adoption timeout. */
export interface AdoptionRecord {
  readonly timeoutMs: number;
  /** Verify gives up waiting for adoption at this instant: the nudge plus the timeout. */
  readonly deadline?: string;
  readonly consumers: readonly ConsumerRecord[];
}

export interface Rotation {
  readonly id: string;
  readonly secret: SecretRef;
  readonly trigger: RotationTrigger;
  readonly rotator: string;
  readonly strategy: Strategy;
  readonly status: RotationStatus;
  /** The step that runs next (or ran last, once terminal). */
  readonly step: StepName;
  /** 1-based attempt of `step`; absent means 1. Matches the `attempt` of the step's message. */
  readonly attempt?: number;
  /** When the message for (`step`, `attempt`) is due; absent means at once. */
  readonly notBefore?: string;
  readonly dryRun: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** After this instant the sweep ends or resumes the rotation (I3). */
  readonly deadline: string;
  readonly endedAt?: string;
  readonly versions: {
    /** Latest enabled version when the rotation began. */
    readonly previous?: string;
    /** Version written by promote. */
    readonly promoted?: string;
    /** Version written by rollback to restore the previous value. */
    readonly restored?: string;
    /** Version of the pending companion secret holding the prepared value (disabled at retire or at the end of rollback). */
    readonly pending?: string;
  };
  /** What the rotator returned from `prepare`, minus the value (which lives in Key Vault only). */
  readonly prepared?: { readonly contentType?: string; readonly refs?: Readonly<Record<string, string>> };
  readonly slots?: { readonly previous?: string; readonly next?: string };
  /** The policy as read at `begin`; later steps use this snapshot, not tags edited meanwhile. */
  readonly policy?: RotationPolicy;
  readonly steps: readonly StepRecord[];
  readonly undo: readonly UndoRecord[];
  /** Declared consumers: nudged when, adopted which version when, what each reported (I8). */
  readonly adoption?: AdoptionRecord;
  /** Why the rotation ended the way it did (terminal states other than Completed). */
  readonly reason?: string;
  /** An operator's cancel, as the machine took it: `undo` (before promote: ends Cancelled) or `rollback` (after promote: ends RolledBack). */
  readonly cancel?: RotationCancel;
}

export interface RotationCancel {
  readonly requestedAt: string;
  readonly reason?: string;
  readonly via: 'undo' | 'rollback';
}
