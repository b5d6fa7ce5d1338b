import { operationTraits, type VaultOperation } from './operations.js';

/**
 * Identities the emulator understands, after Key Vault's built-in RBAC roles:
 * `officer` = Key Vault Secrets Officer (everything), `user` = Key Vault
 * Secrets User (read values and metadata), `reader` = Key Vault Reader
 * (metadata only). A bearer token `rotor-emulator.<role>` carries the role;
 * any other bearer token is accepted as `officer`, like a vault where the
 * caller has full rights.
 */
export const emulatorRoles = { officer: 'officer', user: 'user', reader: 'reader' } as const;
export type EmulatorRole = (typeof emulatorRoles)[keyof typeof emulatorRoles];

export const EMULATOR_TOKEN_PREFIX = 'rotor-emulator.';

const READ_METADATA = 'Microsoft.KeyVault/vaults/secrets/readMetadata/action';
const GET_SECRET = 'Microsoft.KeyVault/vaults/secrets/getSecret/action';

export function roleAllows(role: EmulatorRole, operation: VaultOperation): boolean {
  const action = operationTraits[operation].dataAction;
  switch (role) {
    case 'officer':
      return true;
    case 'user':
      return action === READ_METADATA || action === GET_SECRET;
    case 'reader':
      return action === READ_METADATA;
  }
}

/** The role a bearer token names, `officer` for foreign tokens, `undefined` for an unknown emulator role. */
export function roleOfToken(token: string): EmulatorRole | undefined {
  if (!token.startsWith(EMULATOR_TOKEN_PREFIX)) return emulatorRoles.officer;
  const role = token.slice(EMULATOR_TOKEN_PREFIX.length);
  return (Object.values(emulatorRoles) as string[]).includes(role) ? (role as EmulatorRole) : undefined;
}
