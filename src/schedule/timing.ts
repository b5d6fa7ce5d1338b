import type { PolicyProblem } from '../rotation/rotator.js';
import { durations, parseIsoDuration } from '../time/iso-duration.js';
import { parseUtcCron, type UtcCron } from './cron.js';
import { isScheduleError } from './errors.js';
import type { MaintenanceWindow } from './window.js';

/** The policy tags that say when a secret may rotate (all optional). */
export const TimingTag = {
  /** `P30D` (an interval since the current version was written) or a UTC cron expression. */
  Schedule: 'rotor-schedule',
  /** A UTC cron opening and an ISO duration: `0 2 * * 6 PT4H`. */
  Window: 'rotor-window',
  /** `true`: nothing starts on its own; a manual start needs `force`. */
  Paused: 'rotor-paused',
} as const;

export type RotationSchedule =
  | { readonly kind: 'interval'; readonly everyMs: number; readonly text: string }
  | { readonly kind: 'cron'; readonly cron: UtcCron; readonly text: string };

export interface RotationTiming {
  readonly schedule?: RotationSchedule;
  readonly window?: MaintenanceWindow;
  readonly paused: boolean;
}

export type TimingReading =
  | { readonly ok: true; readonly timing: RotationTiming }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

export const timingLimits = {
  /** More often than this, versions pile up faster than anyone reads them. */
  minScheduleSpacingMs: durations.HOUR,
  minWindowMs: durations.MINUTE,
  /** A longer window is a month-long "always", which no tag needs. */
  maxWindowMs: 31 * durations.DAY,
} as const;

/** How many occurrences of a cron schedule are checked for spacing. */
const SPACING_SAMPLES = 48;
/** A fixed start, so the same tag is judged the same way on every instance and every day. */
const SPACING_REFERENCE = new Date(Date.UTC(2024, 0, 1));

const WINDOW_EXAMPLE = 'such as "0 2 * * 6 PT4H" (Saturdays 02:00-06:00 UTC)';

function readSchedule(text: string): RotationSchedule | PolicyProblem {
  const trimmed = text.trim();
  if (/^P/i.test(trimmed)) {
    const everyMs = parseIsoDuration(trimmed);
    if (everyMs === undefined) return { tag: TimingTag.Schedule, message: 'must be an ISO-8601 duration such as P30D, or a UTC cron expression' };
    if (everyMs < timingLimits.minScheduleSpacingMs) return { tag: TimingTag.Schedule, message: 'must be at least PT1H' };
    return { kind: 'interval', everyMs, text: trimmed };
  }
  let cron: UtcCron;
  try {
    cron = parseUtcCron(trimmed);
  } catch (error) {
    if (!isScheduleError(error)) throw error;
    return { tag: TimingTag.Schedule, message: `must be an ISO-8601 duration such as P30D, or a UTC cron expression: ${error.message}` };
  }
  let previous = cron.next(SPACING_REFERENCE);
  for (let i = 0; i < SPACING_SAMPLES; i += 1) {
    const following = cron.next(previous);
    if (following.getTime() - previous.getTime() < timingLimits.minScheduleSpacingMs) {
      return { tag: TimingTag.Schedule, message: `"${cron.expression}" fires more often than once an hour; rotate at most hourly` };
    }
    previous = following;
  }
  return { kind: 'cron', cron, text: cron.expression };
}

function readWindow(text: string): MaintenanceWindow | PolicyProblem {
  const parts = text.trim().split(/\s+/);
  const durationText = parts.pop() ?? '';
  const durationMs = parseIsoDuration(durationText);
  if (parts.length === 0 || durationMs === undefined || !/^P/i.test(durationText)) {
    return { tag: TimingTag.Window, message: `must be a UTC cron opening followed by an ISO-8601 duration, ${WINDOW_EXAMPLE}` };
  }
  if (durationMs < timingLimits.minWindowMs) return { tag: TimingTag.Window, message: `duration ${durationText} must be at least PT1M` };
  if (durationMs > timingLimits.maxWindowMs) return { tag: TimingTag.Window, message: `duration ${durationText} must be at most P31D` };
  try {
    const start = parseUtcCron(parts.join(' '));
    return { start, durationMs, text: `${start.expression} ${durationText.toUpperCase()}` };
  } catch (error) {
    if (!isScheduleError(error)) throw error;
    return { tag: TimingTag.Window, message: `opening ${error.message}; write it ${WINDOW_EXAMPLE}` };
  }
}

function isProblem(value: object): value is PolicyProblem {
  return 'tag' in value && 'message' in value;
}

/**
 * Reads `rotor-schedule`, `rotor-window` and `rotor-paused`. Every problem
 * names its tag; a secret without any of them rotates by expiry as before.
 */
export function readTiming(tags: Readonly<Record<string, string>>): TimingReading {
  const problems: PolicyProblem[] = [];
  let schedule: RotationSchedule | undefined;
  let window: MaintenanceWindow | undefined;
  let paused = false;

  const scheduleTag = tags[TimingTag.Schedule];
  if (scheduleTag !== undefined) {
    const reading = readSchedule(scheduleTag);
    if (isProblem(reading)) problems.push(reading);
    else schedule = reading;
  }
  const windowTag = tags[TimingTag.Window];
  if (windowTag !== undefined) {
    const reading = readWindow(windowTag);
    if (isProblem(reading)) problems.push(reading);
    else window = reading;
  }
  const pausedTag = tags[TimingTag.Paused];
  if (pausedTag !== undefined) {
    const value = pausedTag.trim().toLowerCase();
    if (value === 'true') paused = true;
    else if (value !== 'false') problems.push({ tag: TimingTag.Paused, message: 'must be true or false' });
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, timing: { ...(schedule === undefined ? {} : { schedule }), ...(window === undefined ? {} : { window }), paused } };
}

/** Timing of tags already validated as a policy; tags that do not parse read as no timing at all. */
export function timingOf(tags: Readonly<Record<string, string>>): RotationTiming {
  const reading = readTiming(tags);
  return reading.ok ? reading.timing : { paused: false };
}
