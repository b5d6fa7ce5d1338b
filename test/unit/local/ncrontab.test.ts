import { describe, expect, it } from 'vitest';
import { NcrontabError, parseNcrontab } from '../../../src/local/ncrontab.js';

describe('parseNcrontab', () => {
  it.each([
    ['0 */15 * * * *', '2026-11-22T10:07:31Z', '2026-11-22T10:15:00.000Z'],
    ['0 */15 * * * *', '2026-11-22T10:15:00Z', '2026-11-22T10:30:00.000Z'],
    ['*/5 * * * * *', '2026-11-22T10:00:03Z', '2026-11-22T10:00:05.000Z'],
    ['0 0 9 * * Mon-Fri', '2026-11-21T12:00:00Z', '2026-11-23T09:00:00.000Z'],
    ['0 30 2 1 Jan *', '2026-11-22T00:00:00Z', '2027-01-01T02:30:00.000Z'],
    ['0 0 0 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 12 * * 7', '2026-11-22T13:00:00Z', '2026-11-29T12:00:00.000Z'],
    ['5,10 0 0 * * *', '2026-11-22T00:00:05Z', '2026-11-22T00:00:10.000Z'],
    ['0 0 10-12/2 * * *', '2026-11-22T10:00:00Z', '2026-11-22T12:00:00.000Z'],
  ])('%s after %s is %s', (expression, after, next) => {
    expect(parseNcrontab(expression).next(new Date(after)).toISOString()).toBe(next);
  });

  it.each([
    ['five fields', '*/5 * * * *', 'six fields'],
    ['a second of 60', '60 * * * * *', 'second "60"'],
    ['a backwards range', '0 0 5-1 * * *', 'runs backwards'],
    ['a zero step', '*/0 * * * * *', 'step'],
    ['a bad name', '0 0 0 * Foo *', 'month "Foo"'],
  ])('refuses %s', (_case, expression, message) => {
    expect(() => parseNcrontab(expression)).toThrow(NcrontabError);
    expect(() => parseNcrontab(expression)).toThrow(message);
  });

  it('says so when an expression never occurs', () => {
    expect(() => parseNcrontab('0 0 0 31 2 *').next(new Date('2026-01-01T00:00:00Z'))).toThrow('never occurs');
  });
});
