import { describe, expect, it } from 'vitest';
import { automaticStartAt, nextRotation, startsNow, type DueInput } from '../../../src/schedule/due.js';
import { readTiming, type RotationTiming } from '../../../src/schedule/timing.js';

const H = 3_600_000;
const D = 24 * H;
const HORIZON = 30 * D;

function timing(tags: Record<string, string>): RotationTiming {
  const reading = readTiming(tags);
  if (!reading.ok) throw new Error(JSON.stringify(reading.problems));
  return reading.timing;
}

function input(now: string, rest: Partial<Omit<DueInput, 'now' | 'timing'>> & { tags?: Record<string, string> }): DueInput {
  const { tags, ...dates } = rest;
  return { now: new Date(now), horizonMs: HORIZON, timing: timing(tags ?? {}), ...dates };
}

describe('nextRotation', () => {
  it.each([
    [
      'expiry only: 30 days before exp',
      input('2026-12-04T00:00:00Z', { expiresOn: new Date('2027-03-01T00:00:00Z') }),
      { dueAt: '2027-01-30T00:00:00.000Z', dueBy: 'expiry', startAt: '2027-01-30T00:00:00.000Z', deferredByWindow: false },
    ],
    [
      'no exp: validity less horizon after creation',
      input('2026-12-04T00:00:00Z', { createdOn: new Date('2026-12-01T00:00:00Z'), validityMs: 90 * D }),
      { dueAt: '2027-01-30T00:00:00.000Z', dueBy: 'validity', startAt: '2027-01-30T00:00:00.000Z', deferredByWindow: false },
    ],
    [
      'interval schedule before expiry',
      input('2026-12-04T00:00:00Z', { createdOn: new Date('2026-12-01T00:00:00Z'), expiresOn: new Date('2027-03-01T00:00:00Z'), tags: { 'rotor-schedule': 'P30D' } }),
      { dueAt: '2026-12-31T00:00:00.000Z', dueBy: 'schedule', startAt: '2026-12-31T00:00:00.000Z', deferredByWindow: false },
    ],
    [
      'expiry before a long schedule',
      input('2026-12-04T00:00:00Z', { createdOn: new Date('2026-12-01T00:00:00Z'), expiresOn: new Date('2027-01-15T00:00:00Z'), tags: { 'rotor-schedule': 'P90D' } }),
      { dueAt: '2026-12-16T00:00:00.000Z', dueBy: 'expiry', startAt: '2026-12-16T00:00:00.000Z', deferredByWindow: false },
    ],
    [
      'cron schedule: first occurrence after the version was written (month end)',
      input('2026-12-04T00:00:00Z', { createdOn: new Date('2026-12-01T00:00:00Z'), tags: { 'rotor-schedule': '0 3 L * *' } }),
      { dueAt: '2026-12-31T03:00:00.000Z', dueBy: 'schedule', startAt: '2026-12-31T03:00:00.000Z', deferredByWindow: false },
    ],
    [
      'cron schedule on Feb 29: the next leap year',
      input('2026-12-04T00:00:00Z', { createdOn: new Date('2026-12-01T00:00:00Z'), tags: { 'rotor-schedule': '0 0 29 2 *' } }),
      { dueAt: '2028-02-29T00:00:00.000Z', dueBy: 'schedule', startAt: '2028-02-29T00:00:00.000Z', deferredByWindow: false },
    ],
    [
      'missed cron occurrence: due at once',
      input('2026-12-04T10:00:00Z', { createdOn: new Date('2026-10-01T00:00:00Z'), tags: { 'rotor-schedule': '0 3 1 * *' } }),
      { dueAt: '2026-10-01T03:00:00.000Z', dueBy: 'schedule', startAt: '2026-12-04T10:00:00.000Z', deferredByWindow: false },
    ],
    [
      'due inside the window: unchanged',
      input('2026-12-04T00:00:00Z', { expiresOn: new Date('2027-01-04T03:00:00Z'), tags: { 'rotor-window': '0 2 * * 6 PT4H' } }),
      { dueAt: '2026-12-05T03:00:00.000Z', dueBy: 'expiry', startAt: '2026-12-05T03:00:00.000Z', deferredByWindow: false },
    ],
    [
      'due outside the window: the next opening',
      input('2026-12-04T00:00:00Z', { expiresOn: new Date('2027-01-05T12:00:00Z'), tags: { 'rotor-window': '0 2 * * 6 PT4H' } }),
      { dueAt: '2026-12-06T12:00:00.000Z', dueBy: 'expiry', startAt: '2026-12-12T02:00:00.000Z', deferredByWindow: true },
    ],
    [
      'overdue outside a window across midnight: tonight at 22:00',
      input('2026-12-04T12:00:00Z', { expiresOn: new Date('2026-12-20T00:00:00Z'), tags: { 'rotor-window': '0 22 * * * PT4H' } }),
      { dueAt: '2026-11-20T00:00:00.000Z', dueBy: 'expiry', startAt: '2026-12-04T22:00:00.000Z', deferredByWindow: true },
    ],
    [
      'overdue in the part of the window after midnight: at once',
      input('2026-12-05T01:00:00Z', { expiresOn: new Date('2026-12-20T00:00:00Z'), tags: { 'rotor-window': '0 22 * * * PT4H' } }),
      { dueAt: '2026-11-20T00:00:00.000Z', dueBy: 'expiry', startAt: '2026-12-05T01:00:00.000Z', deferredByWindow: false },
    ],
    [
      'interval schedule landing on a leap day, window on month ends',
      input('2028-02-01T00:00:00Z', { createdOn: new Date('2028-01-30T00:00:00Z'), tags: { 'rotor-schedule': 'P30D', 'rotor-window': '0 20 L * * PT8H' } }),
      { dueAt: '2028-02-29T00:00:00.000Z', dueBy: 'schedule', startAt: '2028-02-29T20:00:00.000Z', deferredByWindow: true },
    ],
  ])('%s', (_name, given, expected) => {
    const next = nextRotation(given);
    expect(next.kind).toBe('due');
    if (next.kind !== 'due') return;
    expect({ dueAt: next.dueAt.toISOString(), dueBy: next.dueBy, startAt: next.startAt.toISOString(), deferredByWindow: next.deferredByWindow }).toEqual(expected);
  });

  it('paused: never due on its own, whatever the dates', () => {
    expect(nextRotation(input('2026-12-04T00:00:00Z', { expiresOn: new Date('2026-12-05T00:00:00Z'), tags: { 'rotor-paused': 'true', 'rotor-schedule': 'P1D' } }))).toEqual({ kind: 'paused' });
  });

  it('no expiry, no creation date, no schedule: unscheduled', () => {
    expect(nextRotation(input('2026-12-04T00:00:00Z', {}))).toEqual({ kind: 'unscheduled' });
  });

  it('startsNow: due and inside the window', () => {
    const now = '2026-12-05T03:00:00Z';
    expect(startsNow(nextRotation(input(now, { expiresOn: new Date('2026-12-20T00:00:00Z'), tags: { 'rotor-window': '0 2 * * 6 PT4H' } })), new Date(now))).toBe(true);
    const later = '2026-12-05T07:00:00Z';
    expect(startsNow(nextRotation(input(later, { expiresOn: new Date('2026-12-20T00:00:00Z'), tags: { 'rotor-window': '0 2 * * 6 PT4H' } })), new Date(later))).toBe(false);
  });
});

describe('automaticStartAt', () => {
  it.each([
    ['no timing', {}, '2026-12-04T12:00:00Z', { allowed: true }],
    ['paused', { 'rotor-paused': 'true' }, '2026-12-04T12:00:00Z', { allowed: false, reason: 'paused' }],
    ['inside the window', { 'rotor-window': '0 22 * * * PT4H' }, '2026-12-05T01:59:59Z', { allowed: true }],
    ['outside the window', { 'rotor-window': '0 22 * * * PT4H' }, '2026-12-05T02:00:00Z', { allowed: false, reason: 'outside-window', opensAt: new Date('2026-12-05T22:00:00Z') }],
  ])('%s', (_name, tags, now, expected) => {
    expect(automaticStartAt(timing(tags), new Date(now))).toEqual(expected);
  });
});
