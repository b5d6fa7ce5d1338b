/**
 * Errors the emulated vault answers with. Codes and inner codes are the ones
 * Key Vault puts on the wire (`{ error: { code, message, innererror } }`), so
 * a client that branches on them behaves here as it would against Azure.
 */
export const vaultErrorCodes = {
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  SecretNotFound: 'SecretNotFound',
  BadParameter: 'BadParameter',
  Conflict: 'Conflict',
  Throttled: 'Throttled',
  MalformedBackupBlob: 'Malformed backup blob',
  NotFound: 'NotFound',
  MethodNotAllowed: 'MethodNotAllowed',
  RequestTooLarge: 'RequestTooLarge',
  InternalServerError: 'InternalServerError',
  ServiceUnavailable: 'ServiceUnavailable',
} as const;
export type VaultErrorCode = (typeof vaultErrorCodes)[keyof typeof vaultErrorCodes];

export const vaultInnerErrorCodes = {
  SecretDisabled: 'SecretDisabled',
  ForbiddenByRbac: 'ForbiddenByRbac',
  ObjectIsDeletedButRecoverable: 'ObjectIsDeletedButRecoverable',
  ObjectIsBeingDeleted: 'ObjectIsBeingDeleted',
  ObjectIsBeingRecovered: 'ObjectIsBeingRecovered',
} as const;
export type VaultInnerErrorCode = (typeof vaultInnerErrorCodes)[keyof typeof vaultInnerErrorCodes];

/** A Key Vault error answer: HTTP status, code, message and optional inner code. */
export class VaultError extends Error {
  override readonly name = 'VaultError';

  constructor(
    readonly status: number,
    readonly code: VaultErrorCode,
    message: string,
    readonly innerCode?: VaultInnerErrorCode,
  ) {
    super(message);
  }

  /** The body Key Vault sends: note the lower-case `innererror` key. */
  toBody(): { error: { code: string; message: string; innererror?: { code: string } } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }),
      },
    };
  }
}

export function isVaultError(error: unknown): error is VaultError {
  return error instanceof VaultError;
}

export const badParameter = (message: string): VaultError =>
  new VaultError(400, vaultErrorCodes.BadParameter, message);

export const secretNotFound = (nameOrId: string): VaultError =>
  new VaultError(
    404,
    vaultErrorCodes.SecretNotFound,
    `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );

export const deletedSecretNotFound = (name: string): VaultError =>
  new VaultError(404, vaultErrorCodes.SecretNotFound, `Deleted Secret not found: ${name}`);

/** A bad call to the emulator's own admin surface (not a Key Vault error). */
export class EmulatorAdminError extends Error {
  override readonly name = 'EmulatorAdminError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function isEmulatorAdminError(error: unknown): error is EmulatorAdminError {
  return error instanceof EmulatorAdminError;
}
