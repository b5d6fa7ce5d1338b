import { restFailureKindOf, RestFailureKind } from '../azure/rest-error.js';

/**
 * How a call to Azure Resource Manager, Microsoft Graph or the identity
 * platform failed, translated once from the HTTP answer. Callers decide on
 * `code` (and `retryAfterMs`), never on message text. Messages carry the
 * service's error code and text, which never contain a credential: the
 * responses that do carry one (listKeys, regenerateKey, addPassword) are only
 * read on success.
 */
export const ManagementErrorCode = {
  /** No or an unacceptable token (401). */
  Unauthenticated: 'Unauthenticated',
  /** The identity lacks the role or permission (403). */
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  /** 429: throttled; `retryAfterMs` says when to come back if the service said so. */
  Throttled: 'Throttled',
  /** 400, 409, 412 and other 4xx: the service refuses this request as it is. */
  Rejected: 'Rejected',
  /** 5xx, or a long-running operation that ended Failed/Canceled on the service side. */
  ServiceError: 'ServiceError',
  /** Connection refused/reset, DNS, TLS, timeout: nothing usable came back. */
  Network: 'Network',
  /** A 2xx whose body is not what the documented API returns. */
  UnexpectedResponse: 'UnexpectedResponse',
} as const;
export type ManagementErrorCode = (typeof ManagementErrorCode)[keyof typeof ManagementErrorCode];

export class ManagementApiError extends Error {
  override readonly name = 'ManagementApiError';
  readonly code: ManagementErrorCode;
  readonly status?: number;
  /** The service's own error code (`AuthorizationFailed`, `Request_ResourceNotFound`). */
  readonly serviceCode?: string;
  readonly retryAfterMs?: number;

  constructor(
    code: ManagementErrorCode,
    message: string,
    details: { status?: number; serviceCode?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.serviceCode !== undefined) this.serviceCode = details.serviceCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }
}

export function isManagementApiError(error: unknown): error is ManagementApiError {
  return error instanceof ManagementApiError;
}

const fromRest: Record<RestFailureKind, ManagementErrorCode> = {
  [RestFailureKind.NoAnswer]: ManagementErrorCode.Network,
  [RestFailureKind.PermissionDenied]: ManagementErrorCode.Forbidden,
  [RestFailureKind.NotFound]: ManagementErrorCode.NotFound,
  [RestFailureKind.Conflict]: ManagementErrorCode.Rejected,
  [RestFailureKind.Throttled]: ManagementErrorCode.Throttled,
  [RestFailureKind.Unavailable]: ManagementErrorCode.ServiceError,
  [RestFailureKind.Rejected]: ManagementErrorCode.Rejected,
};

/** Maps an HTTP status, read by the one RestError reading (src/azure/rest-error.ts), onto the closed set above; 401 stays apart from 403. */
export function codeForStatus(status: number): ManagementErrorCode {
  return status === 401 ? ManagementErrorCode.Unauthenticated : fromRest[restFailureKindOf(status)];
}
