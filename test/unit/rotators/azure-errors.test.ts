import { RestError } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { ManagementApiError, ManagementErrorCode } from '../../../src/azure-management/errors.js';
import { toRotatorError } from '../../../src/rotators/azure-errors.js';
import { RotatorError, RotatorErrorCode } from '../../../src/rotation/rotator-errors.js';

describe('toRotatorError', () => {
  it.each([
    { code: ManagementErrorCode.Unauthenticated, expected: RotatorErrorCode.PermissionDenied, transient: false },
    { code: ManagementErrorCode.Forbidden, expected: RotatorErrorCode.PermissionDenied, transient: false },
    { code: ManagementErrorCode.NotFound, expected: RotatorErrorCode.TargetNotFound, transient: false },
    { code: ManagementErrorCode.Throttled, expected: RotatorErrorCode.ProviderThrottled, transient: true },
    { code: ManagementErrorCode.Rejected, expected: RotatorErrorCode.ProviderRejected, transient: false },
    { code: ManagementErrorCode.UnexpectedResponse, expected: RotatorErrorCode.ProviderRejected, transient: false },
    { code: ManagementErrorCode.ServiceError, expected: RotatorErrorCode.ProviderUnavailable, transient: true },
    { code: ManagementErrorCode.Network, expected: RotatorErrorCode.ProviderUnavailable, transient: true },
  ])('maps $code to $expected', ({ code, expected, transient }) => {
    const error = toRotatorError(new ManagementApiError(code, 'listKeys failed'), 'listKeys on st1');

    expect(error).toMatchObject({ code: expected, transient, message: 'listKeys on st1: listKeys failed' });
  });

  it('carries Retry-After to the engine', () => {
    const error = toRotatorError(new ManagementApiError(ManagementErrorCode.Throttled, 'throttled', { status: 429, retryAfterMs: 30_000 }), 'x');

    expect(error.retryAfterMs).toBe(30_000);
  });

  it.each([
    { status: 403, expected: RotatorErrorCode.PermissionDenied },
    { status: 404, expected: RotatorErrorCode.TargetNotFound },
    { status: 412, expected: RotatorErrorCode.ProviderRejected },
    { status: 503, expected: RotatorErrorCode.ProviderUnavailable },
    { status: undefined, expected: RotatorErrorCode.ProviderUnavailable },
  ])('maps a storage RestError with status $status to $expected', ({ status, expected }) => {
    const error = toRotatorError(new RestError('boom', { ...(status === undefined ? { code: 'ECONNRESET' } : { statusCode: status }) }), 'set policies');

    expect(error.code).toBe(expected);
  });

  it('passes a RotatorError through and treats anything else as a permanent rejection', () => {
    const original = new RotatorError(RotatorErrorCode.InvalidConfiguration, 'bad tag');

    expect(toRotatorError(original, 'x')).toBe(original);
    expect(toRotatorError(new TypeError('oops'), 'prepare')).toMatchObject({ code: RotatorErrorCode.ProviderRejected, transient: false, message: 'prepare: unexpected TypeError' });
  });
});
