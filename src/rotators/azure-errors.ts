import { isRestError } from '@azure/core-rest-pipeline';
import { isManagementApiError, ManagementErrorCode } from '../azure-management/errors.js';
import { isRotatorError, RotatorError, RotatorErrorCode } from '../rotation/rotator-errors.js';

/**
 * Translates what an Azure call threw into a `RotatorError`, once, so the
 * engine's retry decision reads `transient`. `what` names the operation and
 * target for the ledger (`regenerateKey key2 on stcontoso`); it never holds a value.
 */
export function toRotatorError(error: unknown, what: string): RotatorError {
  if (isRotatorError(error)) return error;
  if (isManagementApiError(error)) {
    const code = (() => {
      switch (error.code) {
        case ManagementErrorCode.Unauthenticated:
        case ManagementErrorCode.Forbidden:
          return RotatorErrorCode.PermissionDenied;
        case ManagementErrorCode.NotFound:
          return RotatorErrorCode.TargetNotFound;
        case ManagementErrorCode.Throttled:
          return RotatorErrorCode.ProviderThrottled;
        case ManagementErrorCode.Rejected:
        case ManagementErrorCode.UnexpectedResponse:
          return RotatorErrorCode.ProviderRejected;
        case ManagementErrorCode.ServiceError:
        case ManagementErrorCode.Network:
          return RotatorErrorCode.ProviderUnavailable;
      }
    })();
    return new RotatorError(code, `${what}: ${error.message}`, {
      cause: error,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    });
  }
  // The storage data-plane SDK throws RestError: status when the service answered, a code when the network did not.
  if (isRestError(error)) {
    const status = error.statusCode;
    const serviceCode = typeof error.code === 'string' ? error.code : undefined;
    if (status === undefined) {
      return new RotatorError(RotatorErrorCode.ProviderUnavailable, `${what}: no answer (${serviceCode ?? error.name})`, { cause: error });
    }
    const code =
      status === 401 || status === 403
        ? RotatorErrorCode.PermissionDenied
        : status === 404
          ? RotatorErrorCode.TargetNotFound
          : status === 429
            ? RotatorErrorCode.ProviderThrottled
            : status >= 500
              ? RotatorErrorCode.ProviderUnavailable
              : RotatorErrorCode.ProviderRejected;
    return new RotatorError(code, `${what}: ${status}${serviceCode === undefined ? '' : ` ${serviceCode}`}`, { cause: error });
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new RotatorError(RotatorErrorCode.ProviderRejected, `${what}: unexpected ${name}`, { cause: error });
}
