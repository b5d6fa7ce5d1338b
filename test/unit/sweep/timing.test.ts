import { describe, expect, it } from 'vitest';
import { runSweep } from '../../../src/sweep/sweep.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

const managed = { 'rotor-rotator': 'random' };
const EXPIRING = '2026-12-10T00:00:00Z'; // due since Nov 10 with the 30-day horizon

describe('runSweep honours rotor-schedule, rotor-window and rotor-paused', () => {
  it.each([
    // name, now (Sunday Nov 22 2026 unless said), tags, expiresOn, createdOn, started?
    ['paused, though due by expiry', '2026-11-22T10:00:00Z', { ...managed, 'rotor-paused': 'true' }, EXPIRING, undefined, false],
    ['paused=false, due by expiry', '2026-11-22T10:00:00Z', { ...managed, 'rotor-paused': 'false' }, EXPIRING, undefined, true],
    // The engine schedules the begin of a rotation started outside the window for its opening.
    ['due, outside its window (Saturdays 02:00-06:00): started, to begin at the opening', '2026-11-22T10:00:00Z', { ...managed, 'rotor-window': '0 2 * * 6 PT4H' }, EXPIRING, undefined, true],
    ['due, inside its window (Saturday 03:00)', '2026-11-28T03:00:00Z', { ...managed, 'rotor-window': '0 2 * * 6 PT4H' }, EXPIRING, undefined, true],
    ['due, inside a window across midnight (01:00 of 22:00+4h)', '2026-11-23T01:00:00Z', { ...managed, 'rotor-window': '0 22 * * * PT4H' }, EXPIRING, undefined, true],
    ['not expiring, schedule P30D elapsed', '2026-11-22T10:00:00Z', { ...managed, 'rotor-schedule': 'P30D' }, '2027-06-01T00:00:00Z', '2026-10-01T00:00:00Z', true],
    ['not expiring, schedule P30D not yet', '2026-11-22T10:00:00Z', { ...managed, 'rotor-schedule': 'P30D' }, '2027-06-01T00:00:00Z', '2026-11-01T00:00:00Z', false],
    ['cron schedule on the 1st, missed this month', '2026-11-22T10:00:00Z', { ...managed, 'rotor-schedule': '0 3 1 * *' }, '2027-06-01T00:00:00Z', '2026-10-15T00:00:00Z', true],
    ['cron schedule on the 1st, paused', '2026-11-22T10:00:00Z', { ...managed, 'rotor-schedule': '0 3 1 * *', 'rotor-paused': 'true' }, '2027-06-01T00:00:00Z', '2026-10-15T00:00:00Z', false],
  ])('%s', async (_name, now, tags, expiresOn, createdOn, started) => {
    // Prepare
    const { services, calls } = createFakeWaysIn({
      now,
      secrets: [secretInfo('orders-api-key', 'v1', { tags, expiresOn, ...(createdOn === undefined ? {} : { createdOn }) })],
    });

    // Act
    const report = await runSweep(services);

    // Assess
    expect(calls.map((c) => c.secret.name)).toEqual(started ? ['orders-api-key'] : []);
    expect(report.errors).toEqual([]);
  });
});
