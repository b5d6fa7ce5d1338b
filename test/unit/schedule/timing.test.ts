import { describe, expect, it } from 'vitest';
import { readTiming, TimingTag } from '../../../src/schedule/timing.js';

const H = 3_600_000;
const D = 24 * H;

describe('readTiming', () => {
  it('reads no tags as no timing, unpaused', () => {
    expect(readTiming({ 'rotor-rotator': 'random' })).toEqual({ ok: true, timing: { paused: false } });
  });

  it.each([
    ['P30D', { kind: 'interval', everyMs: 30 * D, text: 'P30D' }],
    ['PT12H', { kind: 'interval', everyMs: 12 * H, text: 'PT12H' }],
    [' p7d ', { kind: 'interval', everyMs: 7 * D, text: 'p7d' }],
  ])('reads the interval schedule %j', (text, expected) => {
    const reading = readTiming({ [TimingTag.Schedule]: text });
    expect(reading.ok && reading.timing.schedule).toEqual(expected);
  });

  it.each(['0 3 1 * *', '0 2 * * 6', '0 0 0 1 1 *', '0   4 *  * 1-5'])('reads the cron schedule %j', (text) => {
    const reading = readTiming({ [TimingTag.Schedule]: text });
    expect(reading.ok && reading.timing.schedule?.kind).toBe('cron');
  });

  it('reads a window with its duration, spaces tidied', () => {
    const reading = readTiming({ [TimingTag.Window]: ' 0 2  * * 6   pt4h ' });
    if (!reading.ok) throw new Error(JSON.stringify(reading.problems));
    expect(reading.timing.window?.durationMs).toBe(4 * H);
    expect(reading.timing.window?.text).toBe('0 2 * * 6 PT4H');
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['false', false],
  ])('reads rotor-paused=%s', (text, paused) => {
    expect(readTiming({ [TimingTag.Paused]: text })).toMatchObject({ ok: true, timing: { paused } });
  });

  it.each([
    [TimingTag.Schedule, 'P', /ISO-8601 duration such as P30D, or a UTC cron expression/],
    [TimingTag.Schedule, 'PT5M', /at least PT1H/],
    [TimingTag.Schedule, 'every day', /fields/],
    [TimingTag.Schedule, '*/5 * * * *', /more often than once an hour/],
    [TimingTag.Schedule, '0 0 30 2 *', /not a cron expression/],
    [TimingTag.Window, 'PT4H', /cron opening followed by an ISO-8601 duration/],
    [TimingTag.Window, '0 2 * * 6', /cron opening followed by an ISO-8601 duration/],
    [TimingTag.Window, '0 2 * * 6 4h', /cron opening followed by an ISO-8601 duration/],
    [TimingTag.Window, '0 2 * * 6 PT30S', /at least PT1M/],
    [TimingTag.Window, '0 2 * * 6 P32D', /at most P31D/],
    [TimingTag.Window, '0 26 * * 6 PT4H', /opening "0 26 \* \* 6" is not a cron expression/],
    [TimingTag.Paused, 'yes', /must be true or false/],
  ])('%s=%j is a problem naming the tag', (tag, text, message) => {
    const reading = readTiming({ [tag]: text });
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.problems).toHaveLength(1);
    expect(reading.problems[0]?.tag).toBe(tag);
    expect(reading.problems[0]?.message).toMatch(message);
  });

  it('lists every bad tag at once', () => {
    const reading = readTiming({ [TimingTag.Schedule]: 'soon', [TimingTag.Window]: 'never', [TimingTag.Paused]: '1' });
    expect(reading.ok ? [] : reading.problems.map((p) => p.tag)).toEqual([TimingTag.Schedule, TimingTag.Window, TimingTag.Paused]);
  });
});
