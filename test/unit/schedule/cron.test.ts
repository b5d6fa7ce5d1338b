import { describe, expect, it } from 'vitest';
import { parseUtcCron } from '../../../src/schedule/cron.js';
import { isScheduleError, ScheduleErrorCode } from '../../../src/schedule/errors.js';

const at = (iso: string): Date => new Date(iso);

describe('parseUtcCron', () => {
  it.each([
    // expression, after, next occurrence
    ['0 2 * * 6', '2026-12-04T00:00:00Z', '2026-12-05T02:00:00.000Z'],
    ['0 2 * * 6', '2026-12-05T02:00:00Z', '2026-12-12T02:00:00.000Z'],
    ['0 2 * * sat', '2026-12-05T01:59:59Z', '2026-12-05T02:00:00.000Z'],
    // month ends: the 31st skips the months that have none
    ['0 0 31 * *', '2026-01-31T00:00:00Z', '2026-03-31T00:00:00.000Z'],
    ['0 0 31 * *', '2026-04-01T00:00:00Z', '2026-05-31T00:00:00.000Z'],
    ['0 0 L * *', '2026-02-01T00:00:00Z', '2026-02-28T00:00:00.000Z'],
    ['0 0 L * *', '2028-02-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    // leap days: Feb 29 only in leap years, across the century rule
    ['0 0 29 2 *', '2026-12-04T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 3 29 2 *', '2096-03-01T00:00:00Z', '2104-02-29T03:00:00.000Z'],
    // year end
    ['30 23 31 12 *', '2026-12-31T23:30:00Z', '2027-12-31T23:30:00.000Z'],
    ['0 0 1 1 *', '2026-12-31T23:59:59Z', '2027-01-01T00:00:00.000Z'],
    // six fields: seconds first, as the Functions timer writes them
    ['30 0 2 * * 6', '2026-12-04T00:00:00Z', '2026-12-05T02:00:30.000Z'],
    // both day fields restricted: either matches (crontab's rule)
    ['0 0 1 * 1', '2026-12-01T00:00:00Z', '2026-12-07T00:00:00.000Z'],
  ])('%s after %s is %s', (expression, after, expected) => {
    expect(parseUtcCron(expression).next(at(after)).toISOString()).toBe(expected);
  });

  it('reads UTC whatever the process time zone', () => {
    const before = process.env.TZ;
    process.env.TZ = 'Pacific/Auckland';
    try {
      expect(parseUtcCron('0 2 * * *').next(at('2026-12-04T12:00:00Z')).toISOString()).toBe('2026-12-05T02:00:00.000Z');
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it.each([
    // expression, at, latest occurrence at or before
    ['0 2 * * 6', '2026-12-05T02:00:00Z', '2026-12-05T02:00:00.000Z'],
    ['0 2 * * 6', '2026-12-05T02:00:00.900Z', '2026-12-05T02:00:00.000Z'],
    ['0 2 * * 6', '2026-12-05T01:59:59.999Z', '2026-11-28T02:00:00.000Z'],
    ['0 0 29 2 *', '2027-06-01T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('latest %s at or before %s is %s', (expression, when, expected) => {
    expect(parseUtcCron(expression).latestAtOrBefore(at(when))?.toISOString()).toBe(expected);
  });

  it.each([
    ['', ScheduleErrorCode.InvalidCron],
    ['0 2 * *', ScheduleErrorCode.InvalidCron],
    ['0 0 2 * * 6 2027', ScheduleErrorCode.InvalidCron],
    ['61 * * * *', ScheduleErrorCode.InvalidCron],
    ['0 25 * * *', ScheduleErrorCode.InvalidCron],
    ['a b c d e', ScheduleErrorCode.InvalidCron],
    ['@daily', ScheduleErrorCode.InvalidCron],
    ['0 0 30 2 *', ScheduleErrorCode.InvalidCron],
  ])('refuses %j with %s', (expression, code) => {
    let caught: unknown;
    try {
      parseUtcCron(expression);
    } catch (error) {
      caught = error;
    }
    expect(isScheduleError(caught) ? caught.code : caught).toBe(code);
  });
});
