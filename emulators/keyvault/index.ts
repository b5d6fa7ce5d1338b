/**
 * Key Vault (secrets) emulator: a local stand-in that `SecretClient` cannot
 * tell from the real service in the ways Rotor depends on. See README.md.
 */
export { startKeyVaultEmulator, keyVaultEmulatorOptions, type KeyVaultEmulator, type KeyVaultEmulatorOptions } from './start.js';
export type { KeyVaultEmulatorAdmin } from './admin.js';
export { createEmulatorSecretClient, type EmulatorEndpoint, type EmulatorSecretClientOptions } from './client.js';
export { EmulatorCredential } from './credential.js';
export { emulatorRoles, type EmulatorRole } from './roles.js';
export type { KeyVaultEventType, KeyVaultSystemEvent, KeyVaultEventSink } from './events.js';
export type { FaultRule, FaultRuleInput } from './faults.js';
export type { CallCountsSnapshot, OperationCounts } from './counters.js';
export type { ThrottleLimits } from './throttle.js';
export { vaultOperations, type VaultOperation } from './operations.js';
export { isVaultError, isEmulatorAdminError, VaultError, EmulatorAdminError, vaultErrorCodes, vaultInnerErrorCodes } from './errors.js';
