import type { SecretVersionInfo } from '../rotation/ports.js';
import { nextRotation, type NextRotation } from '../schedule/due.js';
import { timingOf } from '../schedule/timing.js';
import type { PolicyReading } from '../entry/services.js';

/**
 * A managed secret's next rotation: `horizon` before it expires (Key Vault's
 * near-expiry event fires 30 days before `exp`); a version with no expiry is
 * due `validity` after it was created, less the horizon; `rotor-schedule`
 * makes it due sooner; `rotor-window` moves the start into the window;
 * `rotor-paused` stops it. With none of these it is never due on its own and
 * only an operator starts it.
 */
export function nextRotationOf(info: SecretVersionInfo, reading: PolicyReading, horizonMs: number, now: Date): NextRotation {
  const valid = reading.kind === 'valid' ? reading.policy : undefined;
  return nextRotation({
    now,
    horizonMs,
    timing: timingOf(valid?.tags ?? {}),
    ...(info.createdOn === undefined ? {} : { createdOn: info.createdOn }),
    ...(info.expiresOn === undefined ? {} : { expiresOn: info.expiresOn }),
    ...(valid === undefined ? {} : { validityMs: valid.validityMs }),
  });
}

/**
 * When the secret is next due, as shown to people: the due instant (past when
 * overdue), or the window opening it waits for; `undefined` when paused or
 * never due on its own.
 */
export function dueAt(info: SecretVersionInfo, reading: PolicyReading, horizonMs: number, now: Date = new Date()): Date | undefined {
  const next = nextRotationOf(info, reading, horizonMs, now);
  if (next.kind !== 'due') return undefined;
  return next.deferredByWindow ? next.startAt : next.dueAt;
}
