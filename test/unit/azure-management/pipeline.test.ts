import { createHttpHeaders } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { redactUrl, retryAfterMs } from '../../../src/azure-management/pipeline.js';

describe('retryAfterMs', () => {
  it.each<{ headers: Record<string, string>; expected: number | undefined }>([
    { headers: { 'retry-after': '7' }, expected: 7000 },
    { headers: { 'retry-after': '0' }, expected: 0 },
    { headers: { 'retry-after-ms': '250' }, expected: 250 },
    { headers: { 'x-ms-retry-after-ms': '40', 'retry-after': '9' }, expected: 40 },
    { headers: {}, expected: undefined },
    { headers: { 'retry-after': 'soon' }, expected: undefined },
  ])('reads $headers as $expected ms', ({ headers, expected }) => {
    expect(retryAfterMs(createHttpHeaders(headers))).toBe(expected);
  });

  it('reads an HTTP date as the time until it', () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();

    const ms = retryAfterMs(createHttpHeaders({ 'retry-after': inTenSeconds }));

    expect(ms).toBeGreaterThan(8_000);
    expect(ms).toBeLessThanOrEqual(10_000);
  });
});

describe('redactUrl', () => {
  it('drops the query string, where a SAS signature would be', () => {
    expect(redactUrl('https://acct.blob.core.windows.net/c/b?sv=2024&sig=secret')).toBe('https://acct.blob.core.windows.net/c/b');
  });
});
