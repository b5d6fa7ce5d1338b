/**
 * Errors of the schedule arithmetic. Tags are read through `readTiming`, which
 * turns these into policy problems; code that parses an expression directly
 * catches `ScheduleError` and reads its `code`.
 */
export const ScheduleErrorCode = {
  /** Not a cron expression Rotor reads (field count, range, syntax). */
  InvalidCron: 'InvalidCron',
  /** A valid expression with no occurrence (`0 0 31 2 *`). */
  NeverOccurs: 'NeverOccurs',
} as const;
export type ScheduleErrorCode = (typeof ScheduleErrorCode)[keyof typeof ScheduleErrorCode];

export class ScheduleError extends Error {
  override readonly name = 'ScheduleError';

  constructor(
    readonly code: ScheduleErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isScheduleError(error: unknown): error is ScheduleError {
  return error instanceof ScheduleError;
}
