import { describe, expect, it } from 'vitest';
import type { ExpiringItem } from '../../../src/radar/model.js';
import { crossedThreshold, formatThreshold } from '../../../src/radar/warnings.js';

const DAY = 86_400_000;
const thresholds = [30 * DAY, 14 * DAY, 7 * DAY, DAY];
const now = Date.parse('2027-01-01T00:00:00Z');
const expiring = (inMs: number): ExpiringItem => ({
  kind: 'secret',
  objectKey: 'kv/x',
  version: 'v1',
  expiresOn: new Date(now + inMs).toISOString(),
  expiresInSeconds: inMs / 1000,
  expired: inMs <= 0,
  vaultUrl: 'https://kv',
  name: 'x',
  enabled: true,
  managed: false,
});

describe('crossedThreshold', () => {
  it.each([
    [31 * DAY, undefined],
    [30 * DAY, 30 * DAY],
    [20 * DAY, 30 * DAY],
    [14 * DAY, 14 * DAY],
    [8 * DAY, 14 * DAY],
    [5 * DAY, 7 * DAY],
    [DAY, DAY],
    [1, DAY],
    [-90 * DAY, DAY],
  ])('an item expiring in %i ms has crossed %s', (inMs, expected) => {
    expect(crossedThreshold(expiring(inMs), now, thresholds)).toBe(expected);
  });
});

describe('formatThreshold', () => {
  it.each([
    [30 * DAY, 'P30D'],
    [DAY / 2, 'PT12H'],
    [15 * 60_000, 'PT15M'],
    [90_000, 'PT90S'],
  ])('writes %i ms as %s', (ms, text) => {
    expect(formatThreshold(ms)).toBe(text);
  });
});
