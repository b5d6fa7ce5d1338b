import { describe, expect, it } from 'vitest';
import { parseUtcCron } from '../../../src/schedule/cron.js';
import { earliestStartInWindow, windowAt, type MaintenanceWindow } from '../../../src/schedule/window.js';

const H = 3_600_000;
const D = 24 * H;

function window(start: string, durationMs: number): MaintenanceWindow {
  return { start: parseUtcCron(start), durationMs, text: start };
}

const saturdayNight = window('0 2 * * 6', 4 * H); // Sat 02:00-06:00
const acrossMidnight = window('0 22 * * *', 4 * H); // 22:00-02:00 every day
const fridayIntoSaturday = window('0 23 * * 5', 3 * H); // Fri 23:00 - Sat 02:00
const lastDayOfMonth = window('0 20 L * *', 8 * H); // last day 20:00 - next month's 1st 04:00
const leapDay = window('0 0 29 2 *', D); // Feb 29 only
const newYear = window('0 22 31 12 *', 6 * H); // Dec 31 22:00 - Jan 1 04:00

describe('windowAt', () => {
  it.each([
    // window, at, open?, opened or opens
    ['Saturday 02-06, Friday noon', saturdayNight, '2026-12-04T12:00:00Z', false, '2026-12-05T02:00:00.000Z'],
    ['Saturday 02-06, at the opening', saturdayNight, '2026-12-05T02:00:00Z', true, '2026-12-05T02:00:00.000Z'],
    ['Saturday 02-06, inside', saturdayNight, '2026-12-05T05:59:59Z', true, '2026-12-05T02:00:00.000Z'],
    ['Saturday 02-06, at the close', saturdayNight, '2026-12-05T06:00:00Z', false, '2026-12-12T02:00:00.000Z'],
    ['22-02, before midnight', acrossMidnight, '2026-12-04T23:30:00Z', true, '2026-12-04T22:00:00.000Z'],
    ['22-02, after midnight', acrossMidnight, '2026-12-05T01:30:00Z', true, '2026-12-04T22:00:00.000Z'],
    ['22-02, after it closed', acrossMidnight, '2026-12-05T02:00:00Z', false, '2026-12-05T22:00:00.000Z'],
    ['22-02, mid-afternoon', acrossMidnight, '2026-12-05T15:00:00Z', false, '2026-12-05T22:00:00.000Z'],
    ['Fri 23 - Sat 02, Saturday 01:00', fridayIntoSaturday, '2026-12-05T01:00:00Z', true, '2026-12-04T23:00:00.000Z'],
    ['Fri 23 - Sat 02, Sunday 01:00', fridayIntoSaturday, '2026-12-06T01:00:00Z', false, '2026-12-11T23:00:00.000Z'],
    ['last day of February (not leap), into March', lastDayOfMonth, '2026-03-01T03:00:00Z', true, '2026-02-28T20:00:00.000Z'],
    ['last day of February (leap), into March', lastDayOfMonth, '2028-03-01T03:00:00Z', true, '2028-02-29T20:00:00.000Z'],
    ['Feb 28 of a leap year: not yet the last day', lastDayOfMonth, '2028-02-28T21:00:00Z', false, '2028-02-29T20:00:00.000Z'],
    ['last day of April (30th)', lastDayOfMonth, '2026-04-30T23:00:00Z', true, '2026-04-30T20:00:00.000Z'],
    ['leap day window on a leap day', leapDay, '2028-02-29T12:00:00Z', true, '2028-02-29T00:00:00.000Z'],
    ['leap day window in a common year', leapDay, '2027-02-28T12:00:00Z', false, '2028-02-29T00:00:00.000Z'],
    ['leap day window the day after', leapDay, '2028-03-01T00:00:00Z', false, '2032-02-29T00:00:00.000Z'],
    ['new year window, after midnight', newYear, '2027-01-01T03:00:00Z', true, '2026-12-31T22:00:00.000Z'],
    ['new year window, closed', newYear, '2027-01-01T04:00:00Z', false, '2027-12-31T22:00:00.000Z'],
  ])('%s', (_name, w, when, open, edge) => {
    const state = windowAt(w, new Date(when));
    expect(state.open).toBe(open);
    expect((state.open ? state.openedAt : state.opensAt).toISOString()).toBe(edge);
    if (state.open) expect(state.closesAt.getTime()).toBe(state.openedAt.getTime() + w.durationMs);
  });

  it('a window longer than the gap between openings is always open', () => {
    const hourly = window('0 * * * *', 2 * H);
    for (const when of ['2026-12-04T00:00:00Z', '2026-12-04T00:59:59Z', '2026-12-31T23:30:00Z']) {
      expect(windowAt(hourly, new Date(when)).open).toBe(true);
    }
  });
});

describe('earliestStartInWindow', () => {
  it.each([
    ['inside: at once', acrossMidnight, '2026-12-05T00:10:00Z', '2026-12-05T00:10:00.000Z'],
    ['month end, just after midnight: still the January window', lastDayOfMonth, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['outside: the next opening', acrossMidnight, '2026-12-05T02:10:00Z', '2026-12-05T22:00:00.000Z'],
    ['month end, outside: the next last day', lastDayOfMonth, '2026-02-01T05:00:00Z', '2026-02-28T20:00:00.000Z'],
  ])('%s', (_name, w, when, expected) => {
    expect(earliestStartInWindow(w, new Date(when)).toISOString()).toBe(expected);
  });
});
