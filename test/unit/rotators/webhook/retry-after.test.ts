import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../../src/rotators/webhook/transport.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    { header: undefined, ms: undefined },
    { header: '0', ms: 0 },
    { header: ' 120 ', ms: 120_000 },
    { header: 'Sun, 22 Nov 2026 10:00:30 GMT', ms: 30_000 },
    { header: 'Sun, 22 Nov 2026 09:59:00 GMT', ms: 0 },
    { header: 'soon', ms: undefined },
    { header: '-5', ms: undefined },
  ])('reads $header as $ms ms', ({ header, ms }) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });
});
