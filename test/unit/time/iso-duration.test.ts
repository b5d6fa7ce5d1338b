import { describe, expect, it } from 'vitest';
import { parseIsoDuration } from '../../../src/time/iso-duration.js';

const S = 1000;
const D = 24 * 3600 * S;

describe('parseIsoDuration', () => {
  it.each([
    ['P30D', 30 * D],
    ['P90D', 90 * D],
    ['PT15M', 15 * 60 * S],
    ['PT1H30M', 90 * 60 * S],
    ['P1DT12H', 1.5 * D],
    ['P2W', 14 * D],
    ['P1Y', 365 * D],
    ['P1M', 30 * D],
    ['PT0.5S', 500],
    ['pt10s', 10 * S],
  ])('reads %s', (text, expected) => {
    expect(parseIsoDuration(text)).toBe(expected);
  });

  it.each(['', 'P', 'PT', '30D', 'P30', 'P-1D', 'P1.5D', 'PT1H2D', '1 day'])('rejects %j', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });
});
