import type { RotationTiming } from './timing.js';
import { earliestStartInWindow, windowAt } from './window.js';

/** What makes a rotation due. */
export const DueBy = {
  /** `horizon` before the current version's `exp` (Key Vault's near-expiry event). */
  Expiry: 'expiry',
  /** No `exp`: `validity - horizon` after the current version was written. */
  Validity: 'validity',
  /** `rotor-schedule`. */
  Schedule: 'schedule',
} as const;
export type DueBy = (typeof DueBy)[keyof typeof DueBy];

export interface DueInput {
  readonly now: Date;
  /** When the current version was written: the last rotation, for Rotor's own versions. */
  readonly createdOn?: Date;
  readonly expiresOn?: Date;
  /** The policy's validity; without `expiresOn` the version is due `validity - horizon` after `createdOn`. */
  readonly validityMs?: number;
  /** Key Vault's near-expiry horizon (30 days). */
  readonly horizonMs: number;
  readonly timing: RotationTiming;
}

export type NextRotation =
  /** `rotor-paused=true`: nothing starts on its own. */
  | { readonly kind: 'paused' }
  /** No expiry, no validity to count from, no schedule: only an operator starts it. */
  | { readonly kind: 'unscheduled' }
  | {
      readonly kind: 'due';
      /** The instant it becomes due, possibly past. */
      readonly dueAt: Date;
      readonly dueBy: DueBy;
      /** When it may start: `dueAt`, or `now` when overdue, moved to the next window opening if outside the window. */
      readonly startAt: Date;
      /** `startAt` was moved to a window opening. */
      readonly deferredByWindow: boolean;
    };

/**
 * The next rotation of a secret. A schedule does not replace expiry: an
 * expiring credential is rotated before it expires, whichever comes first.
 * A cron schedule is due at its first occurrence after the current version
 * was written, so a missed occurrence (an outage, a pause lifted) is due at once.
 */
export function nextRotation(input: DueInput): NextRotation {
  const { timing } = input;
  if (timing.paused) return { kind: 'paused' };

  const candidates: { at: Date; by: DueBy }[] = [];
  if (input.expiresOn !== undefined) candidates.push({ at: new Date(input.expiresOn.getTime() - input.horizonMs), by: DueBy.Expiry });
  else if (input.createdOn !== undefined && input.validityMs !== undefined) {
    candidates.push({ at: new Date(input.createdOn.getTime() + input.validityMs - input.horizonMs), by: DueBy.Validity });
  }
  const schedule = timing.schedule;
  if (schedule !== undefined) {
    const from = input.createdOn ?? input.now;
    const at = schedule.kind === 'interval' ? new Date(from.getTime() + schedule.everyMs) : schedule.cron.next(from);
    candidates.push({ at, by: DueBy.Schedule });
  }
  const first = candidates.reduce<{ at: Date; by: DueBy } | undefined>((best, c) => (best === undefined || c.at < best.at ? c : best), undefined);
  if (first === undefined) return { kind: 'unscheduled' };

  const earliest = first.at.getTime() > input.now.getTime() ? first.at : input.now;
  const startAt = timing.window === undefined ? earliest : earliestStartInWindow(timing.window, earliest);
  return { kind: 'due', dueAt: first.at, dueBy: first.by, startAt, deferredByWindow: startAt.getTime() !== earliest.getTime() };
}

/** Is the secret due at `now`, window or not (the sweep's question: the engine defers the begin to the window)? */
export function isDue(next: NextRotation, now: Date): boolean {
  return next.kind === 'due' && next.dueAt.getTime() <= now.getTime();
}

/** Is the secret due and inside its window at `now`? */
export function startsNow(next: NextRotation, now: Date): boolean {
  return next.kind === 'due' && next.startAt.getTime() <= now.getTime();
}

export type AutomaticStart =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'paused' }
  | { readonly allowed: false; readonly reason: 'outside-window'; readonly opensAt: Date };

/**
 * May an automatic trigger (an event, the sweep) start a rotation at `now`?
 * Paused: never. Outside the window: at its next opening. Manual starts are
 * not asked: an operator's call is not bound by the window, and a paused
 * secret needs `force`.
 */
export function automaticStartAt(timing: RotationTiming, now: Date): AutomaticStart {
  if (timing.paused) return { allowed: false, reason: 'paused' };
  if (timing.window === undefined) return { allowed: true };
  const state = windowAt(timing.window, now);
  return state.open ? { allowed: true } : { allowed: false, reason: 'outside-window', opensAt: state.opensAt };
}
