import { describeRestFailure, readRestError, RestFailureKind } from '../azure/rest-error.js';

/** Why a ledger call failed. `Conflict` is a lost race (ETag or create condition), never an overwrite. */
export const LedgerErrorCode = {
  /** The record changed since it was read, or a create found it already there. */
  Conflict: 'Conflict',
  /** Storage answered 5xx, timed out or throttled. */
  Unavailable: 'Unavailable',
  /** Rotor lacks Storage Blob Data Contributor on the container. */
  Forbidden: 'Forbidden',
  /** A stored record does not parse: written by something other than Rotor, or by an incompatible version. */
  Corrupt: 'Corrupt',
  Unknown: 'Unknown',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

export class LedgerError extends Error {
  override readonly name: string = 'LedgerError';
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A lost ETag race: re-read and decide again. */
export class LedgerConflictError extends LedgerError {
  override readonly name = 'LedgerConflictError';

  constructor(message: string, options?: ErrorOptions) {
    super(LedgerErrorCode.Conflict, message, options);
  }
}

export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError;
}

export function isLedgerConflictError(error: unknown): error is LedgerConflictError {
  return error instanceof LedgerError && error.code === LedgerErrorCode.Conflict;
}

/**
 * A Blob Storage failure as the ledger's error: the one translation for every
 * record Rotor keeps in the ledger's container (rotations, batches, the
 * consumer registry). A lost ETag or create race is a `LedgerConflictError`.
 */
export function ledgerErrorOf(error: unknown, what: string): LedgerError {
  if (error instanceof LedgerError) return error;
  const failure = readRestError(error);
  if (failure === undefined) return new LedgerError(LedgerErrorCode.Unavailable, `${what}: ${error instanceof Error ? error.name : 'error'}`, { cause: error });
  const detail = describeRestFailure(failure);
  switch (failure.kind) {
    case RestFailureKind.Conflict:
      return new LedgerConflictError(`${what}: lost a concurrent update (${detail})`, { cause: error });
    case RestFailureKind.PermissionDenied:
      return new LedgerError(LedgerErrorCode.Forbidden, `${what}: ${detail}`, { cause: error });
    case RestFailureKind.NoAnswer:
    case RestFailureKind.Throttled:
    case RestFailureKind.Unavailable:
      return new LedgerError(LedgerErrorCode.Unavailable, `${what}: ${detail}`, { cause: error });
    case RestFailureKind.NotFound:
    case RestFailureKind.Rejected:
      return new LedgerError(LedgerErrorCode.Unknown, `${what}: ${detail}`, { cause: error });
  }
}
