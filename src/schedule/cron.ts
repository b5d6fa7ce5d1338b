import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ScheduleError, ScheduleErrorCode } from './errors.js';

/**
 * A cron expression read in UTC, always: a policy tag has no time zone, and a
 * window that moved with daylight saving would open twice or not at all on
 * the day the clocks change.
 *
 * Five fields (`minute hour day month day-of-week`) as in crontab, or six with
 * seconds first as the Functions timer trigger writes them. When both day
 * fields are restricted either may match (crontab's rule). The parsing is
 * cron-parser's (`L`, `W`, `#`, names and ranges included).
 */
export interface UtcCron {
  readonly expression: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
  /** The last occurrence at or before `at`, or `undefined` when there is none. */
  latestAtOrBefore(at: Date): Date | undefined;
}

const SECOND_MS = 1_000;

function parseAt(expression: string, currentDate: Date): CronExpression {
  // hashSeed: an `H` field picks the same minute for the same expression on every instance.
  return CronExpressionParser.parse(expression, { currentDate, tz: 'UTC', hashSeed: expression });
}

/** A Date from cron-parser's result, or a ScheduleError when it found no occurrence. */
function occurrence(expression: string, find: () => Date): Date {
  try {
    return find();
  } catch (error) {
    throw new ScheduleError(ScheduleErrorCode.NeverOccurs, `"${expression}" never occurs`, { cause: error });
  }
}

export function parseUtcCron(text: string): UtcCron {
  const expression = text.trim().replace(/\s+/g, ' ');
  const fields = expression === '' ? 0 : expression.split(' ').length;
  if (fields !== 5 && fields !== 6) {
    throw new ScheduleError(
      ScheduleErrorCode.InvalidCron,
      `"${expression}" has ${fields} fields; write five (minute hour day month day-of-week) or six with seconds first`,
    );
  }
  if (expression.startsWith('@')) {
    throw new ScheduleError(ScheduleErrorCode.InvalidCron, `"${expression}": write the fields out instead of a nickname such as @daily`);
  }
  try {
    parseAt(expression, new Date(0));
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'not a cron expression';
    throw new ScheduleError(ScheduleErrorCode.InvalidCron, `"${expression}" is not a cron expression: ${reason}`, { cause: error });
  }
  const cron: UtcCron = {
    expression,
    next: (after) => occurrence(expression, () => parseAt(expression, after).next().toDate()),
    latestAtOrBefore(at) {
      // cron-parser's prev() is strictly before its current date, which it reads to the second.
      const justAfter = new Date(Math.floor(at.getTime() / SECOND_MS) * SECOND_MS + SECOND_MS);
      try {
        return parseAt(expression, justAfter).prev().toDate();
      } catch {
        return undefined;
      }
    },
  };
  // An expression such as `0 0 31 2 *` parses and never fires; refuse it now, not at the first lookup.
  cron.next(new Date(Date.UTC(2000, 0, 1)));
  return cron;
}
