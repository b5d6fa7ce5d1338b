import type { UtcCron } from './cron.js';

/**
 * A maintenance window: it opens at every occurrence of `start` (UTC cron) and
 * stays open for `durationMs`. A window may run past midnight, or past the end
 * of a month or a year: only the opening is a cron time.
 */
export interface MaintenanceWindow {
  readonly start: UtcCron;
  readonly durationMs: number;
  /** The tag as written, for messages and the API. */
  readonly text: string;
}

export type WindowState =
  | { readonly open: true; readonly openedAt: Date; readonly closesAt: Date }
  | { readonly open: false; readonly opensAt: Date };

/**
 * Whether the window is open at `at`. The latest opening at or before `at`
 * decides: if it does not cover `at`, no earlier one can, since an earlier
 * opening of the same length closes earlier.
 */
export function windowAt(window: MaintenanceWindow, at: Date): WindowState {
  const openedAt = window.start.latestAtOrBefore(at);
  if (openedAt !== undefined) {
    const closesAt = new Date(openedAt.getTime() + window.durationMs);
    if (closesAt.getTime() > at.getTime()) return { open: true, openedAt, closesAt };
  }
  return { open: false, opensAt: window.start.next(at) };
}

/** `at` itself when the window is open then, otherwise its next opening. */
export function earliestStartInWindow(window: MaintenanceWindow, at: Date): Date {
  const state = windowAt(window, at);
  return state.open ? at : state.opensAt;
}
