import type { NextRotation } from '../schedule/due.js';
import { timingOf } from '../schedule/timing.js';
import type { PolicyReading } from '../entry/services.js';

/**
 * When a managed secret rotates next, as the secrets list shows it: `nextDue`
 * is the due instant (past when overdue) or the window opening it waits for;
 * a paused secret has none. `timing` repeats the tags as read, so an operator
 * sees why.
 */
export function presentTiming(next: NextRotation, reading: Exclude<PolicyReading, { kind: 'unmanaged' }>): Record<string, unknown> {
  const timing = reading.kind === 'valid' ? timingOf(reading.policy.tags) : undefined;
  const shown =
    timing === undefined || (timing.schedule === undefined && timing.window === undefined && !timing.paused)
      ? {}
      : {
          timing: {
            ...(timing.schedule === undefined ? {} : { schedule: timing.schedule.text }),
            ...(timing.window === undefined ? {} : { window: timing.window.text }),
            paused: timing.paused,
          },
        };
  if (next.kind !== 'due') return { ...shown, ...(next.kind === 'paused' ? { paused: true } : {}) };
  return {
    ...shown,
    nextDue: (next.deferredByWindow ? next.startAt : next.dueAt).toISOString(),
    dueBy: next.dueBy,
    ...(next.deferredByWindow ? { deferredByWindow: true, dueAt: next.dueAt.toISOString() } : {}),
  };
}
