import { describe, expect, it } from 'vitest';
import { isRetriableStatus, isSuccessStatus, retryDelayMs } from '../../../emulators/eventgrid/retry-policy.js';

const s = 1000;
const min = 60 * s;
const h = 60 * min;

describe('Event Grid retry policy', () => {
  it.each([
    [1, 10 * s],
    [2, 30 * s],
    [3, 1 * min],
    [4, 5 * min],
    [5, 10 * min],
    [6, 30 * min],
    [7, 1 * h],
    [8, 3 * h],
    [9, 6 * h],
    [10, 12 * h],
    [11, 12 * h],
  ])('waits the documented time after %i failed attempt(s)', (attempts, expected) => {
    // Act / Assess
    expect(retryDelayMs(attempts, 500)).toBe(expected);
  });

  it.each([
    [408, 1, 2 * min],
    [503, 1, 30 * s],
    [503, 3, 1 * min],
    [404, 1, 10 * s],
  ])('keeps the minimum wait the service documents for a %i (after %i attempt(s))', (status, attempts, expected) => {
    // Act / Assess
    expect(retryDelayMs(attempts, status)).toBe(expected);
  });

  it.each([
    [200, true, false],
    [204, true, false],
    [205, false, true],
    [400, false, false],
    [401, false, false],
    [403, false, false],
    [404, false, true],
    [413, false, false],
    [429, false, true],
    [500, false, true],
  ])('classifies %i: success %s, retriable %s', (status, success, retriable) => {
    // Act / Assess
    expect([isSuccessStatus(status), isRetriableStatus(status)]).toEqual([success, retriable]);
  });
});
