/**
 * The one reading of the Azure SDKs' `RestError` (Key Vault, Blob Storage, the
 * storage and Event Grid data planes): what kind of failure it is, from the
 * status alone, plus what a capability may want to refine on (the service's
 * code and inner code, Retry-After). Each capability then maps the kind onto
 * its own closed code union (`SecretStoreErrorCode`, `LedgerErrorCode`,
 * `RotatorErrorCode`), so no translator reads status numbers or messages.
 *
 * Recognised by shape: `@azure/core-rest-pipeline` is only a transitive
 * dependency, and its `isRestError` checks the name too.
 */
export const RestFailureKind = {
  /** No HTTP answer: connection reset, timeout, DNS. */
  NoAnswer: 'NoAnswer',
  /** 401, 403. */
  PermissionDenied: 'PermissionDenied',
  /** 404. */
  NotFound: 'NotFound',
  /** 409, 412: a conflict or a failed precondition (ETag). */
  Conflict: 'Conflict',
  /** 429. */
  Throttled: 'Throttled',
  /** 5xx. */
  Unavailable: 'Unavailable',
  /** 400 and any other 4xx: the request itself is wrong. */
  Rejected: 'Rejected',
} as const;
export type RestFailureKind = (typeof RestFailureKind)[keyof typeof RestFailureKind];

export interface RestFailure {
  readonly kind: RestFailureKind;
  readonly status?: number;
  /** The service's error code (`SecretDisabled`, `AuthorizationFailure`); never a value. */
  readonly serviceCode?: string;
  /** Key Vault's `error.innerError.code`. */
  readonly innerCode?: string;
  readonly retryAfterMs?: number;
}

interface RestErrorLike {
  readonly name: 'RestError';
  readonly statusCode?: number;
  readonly code?: unknown;
  readonly details?: unknown;
  readonly response?: { readonly headers: { get(name: string): string | undefined } };
}

export function isRestError(error: unknown): error is Error & RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

/** The kind of an HTTP answer by its status; `undefined`: no answer. Also for transports that hand back a non-2xx response instead of throwing (ARM, Graph). */
export function restFailureKindOf(status: number | undefined): RestFailureKind {
  if (status === undefined) return RestFailureKind.NoAnswer;
  if (status === 401 || status === 403) return RestFailureKind.PermissionDenied;
  if (status === 404) return RestFailureKind.NotFound;
  if (status === 409 || status === 412) return RestFailureKind.Conflict;
  if (status === 429) return RestFailureKind.Throttled;
  if (status >= 500) return RestFailureKind.Unavailable;
  return RestFailureKind.Rejected;
}

function innerCodeOf(details: unknown): string | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const code = (details as { error?: { innerError?: { code?: unknown } } }).error?.innerError?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Retry-After (seconds or HTTP date) or retry-after-ms, in milliseconds. */
export function retryAfterMs(headers: { get(name: string): string | undefined } | undefined): number | undefined {
  if (headers === undefined) return undefined;
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms !== undefined && /^\d+$/.test(ms)) return Number(ms);
  const value = headers.get('retry-after');
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** What a `RestError` says; `undefined` for anything else (the caller decides what an untyped error means). */
export function readRestError(error: unknown): RestFailure | undefined {
  if (!isRestError(error)) return undefined;
  const serviceCode = typeof error.code === 'string' && error.code !== '' ? error.code : undefined;
  const innerCode = innerCodeOf(error.details);
  const after = retryAfterMs(error.response?.headers);
  return {
    kind: restFailureKindOf(error.statusCode),
    ...(error.statusCode === undefined ? {} : { status: error.statusCode }),
    ...(serviceCode === undefined ? {} : { serviceCode }),
    ...(innerCode === undefined ? {} : { innerCode }),
    ...(after === undefined ? {} : { retryAfterMs: after }),
  };
}

/** `403 AuthorizationFailure`, `no answer (ECONNRESET)`: the status and service code, for messages. */
export function describeRestFailure(failure: RestFailure): string {
  if (failure.status === undefined) return `no answer${failure.serviceCode === undefined ? '' : ` (${failure.serviceCode})`}`;
  return `${failure.status}${failure.serviceCode === undefined ? '' : ` ${failure.serviceCode}`}`;
}
