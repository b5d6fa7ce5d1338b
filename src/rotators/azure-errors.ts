import { describeRestFailure, readRestError, RestFailureKind } from '../azure/rest-error.js';
import { isManagementApiError, ManagementErrorCode } from '../azure-management/errors.js';
import { isRotatorError, RotatorError, RotatorErrorCode } from '../rotation/rotator-errors.js';

const fromRest: Record<RestFailureKind, RotatorErrorCode> = {
  [RestFailureKind.NoAnswer]: RotatorErrorCode.ProviderUnavailable,
  [RestFailureKind.PermissionDenied]: RotatorErrorCode.PermissionDenied,
  [RestFailureKind.NotFound]: RotatorErrorCode.TargetNotFound,
  [RestFailureKind.Conflict]: RotatorErrorCode.ProviderRejected,
  [RestFailureKind.Throttled]: RotatorErrorCode.ProviderThrottled,
  [RestFailureKind.Unavailable]: RotatorErrorCode.ProviderUnavailable,
  [RestFailureKind.Rejected]: RotatorErrorCode.ProviderRejected,
};

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
  // The storage and Event Grid data-plane SDKs throw RestError.
  const failure = readRestError(error);
  if (failure !== undefined) {
    return new RotatorError(fromRest[failure.kind], `${what}: ${describeRestFailure(failure)}`, {
      cause: error,
      ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
    });
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new RotatorError(RotatorErrorCode.ProviderRejected, `${what}: unexpected ${name}`, { cause: error });
}

/** Runs one provider call, translating whatever it throws once (`what` names the call and target, never a value). */
export async function callProvider<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toRotatorError(error, what);
  }
}
