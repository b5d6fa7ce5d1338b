/** Why pacing could not decide. */
export const PacingErrorCode = {
  /** Too many instances wrote the vault's record at once; the caller tries again. */
  Conflict: 'Conflict',
  /** The shared record could not be read or written (storage down, forbidden, corrupt). */
  Unavailable: 'Unavailable',
} as const;
export type PacingErrorCode = (typeof PacingErrorCode)[keyof typeof PacingErrorCode];

export class PacingError extends Error {
  override readonly name: string = 'PacingError';
  readonly code: PacingErrorCode;

  constructor(code: PacingErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export class PacingConflictError extends PacingError {
  override readonly name = 'PacingConflictError';

  constructor(message: string, options?: ErrorOptions) {
    super(PacingErrorCode.Conflict, message, options);
  }
}

export function isPacingError(error: unknown): error is PacingError {
  return error instanceof PacingError;
}
