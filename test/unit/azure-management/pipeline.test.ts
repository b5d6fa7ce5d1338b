import { createHttpHeaders, RestError, type HttpClient } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../src/azure/rest-error.js';
import { codeForStatus, ManagementErrorCode } from '../../../src/azure-management/errors.js';
import { createJsonTransport, redactUrl } from '../../../src/azure-management/pipeline.js';

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

describe('codeForStatus (through the one RestError reading)', () => {
  it.each<[number, ManagementErrorCode]>([
    [400, ManagementErrorCode.Rejected],
    [401, ManagementErrorCode.Unauthenticated],
    [403, ManagementErrorCode.Forbidden],
    [404, ManagementErrorCode.NotFound],
    [409, ManagementErrorCode.Rejected],
    [412, ManagementErrorCode.Rejected],
    [429, ManagementErrorCode.Throttled],
    [500, ManagementErrorCode.ServiceError],
    [503, ManagementErrorCode.ServiceError],
  ])('maps %i to %s', (status, code) => {
    expect(codeForStatus(status)).toBe(code);
  });

  it('translates a RestError the pipeline throws, and a transport failure, once', async () => {
    // Prepare: an HTTP client that throws what core-rest-pipeline's own policies throw
    const failing = (error: Error): HttpClient => ({ sendRequest: () => Promise.reject(error) });
    const options = { maxRetries: 0 };

    // Act
    const refused = await createJsonTransport(options, undefined, failing(new RestError('refused', { statusCode: 403 })))
      .send({ method: 'GET', url: 'https://management.example/x?sig=secret' })
      .catch((error: unknown) => error);
    const reset = await createJsonTransport(options, undefined, failing(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })))
      .send({ method: 'POST', url: 'https://management.example/y' })
      .catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({ name: 'ManagementApiError', code: ManagementErrorCode.Forbidden, status: 403 });
    expect((refused as Error).message).not.toContain('secret');
    expect(reset).toMatchObject({ name: 'ManagementApiError', code: ManagementErrorCode.Network });
  });
});
