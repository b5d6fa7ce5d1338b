/**
 * The Key Vault secrets operations `SecretClient` uses, named as the admin
 * surface names them (faults, counters). Each has the RBAC data action Key
 * Vault checks and the throttling bucket it counts against.
 */
export const vaultOperations = {
  set: 'set',
  get: 'get',
  list: 'list',
  listVersions: 'listVersions',
  update: 'update',
  delete: 'delete',
  getDeleted: 'getDeleted',
  listDeleted: 'listDeleted',
  recover: 'recover',
  purge: 'purge',
  backup: 'backup',
  restore: 'restore',
} as const;
export type VaultOperation = (typeof vaultOperations)[keyof typeof vaultOperations];
export const vaultOperationNames = Object.values(vaultOperations) as [VaultOperation, ...VaultOperation[]];

/** Key Vault's throttle has a separate, lower ceiling for creating secrets. */
export const throttleBuckets = { create: 'create', other: 'other' } as const;
export type ThrottleBucket = (typeof throttleBuckets)[keyof typeof throttleBuckets];

const SECRETS = 'Microsoft.KeyVault/vaults/secrets';

export const operationTraits: Record<VaultOperation, { bucket: ThrottleBucket; dataAction: string }> = {
  set: { bucket: 'create', dataAction: `${SECRETS}/setSecret/action` },
  get: { bucket: 'other', dataAction: `${SECRETS}/getSecret/action` },
  list: { bucket: 'other', dataAction: `${SECRETS}/readMetadata/action` },
  listVersions: { bucket: 'other', dataAction: `${SECRETS}/readMetadata/action` },
  update: { bucket: 'other', dataAction: `${SECRETS}/update/action` },
  delete: { bucket: 'other', dataAction: `${SECRETS}/delete` },
  getDeleted: { bucket: 'other', dataAction: `${SECRETS}/readMetadata/action` },
  listDeleted: { bucket: 'other', dataAction: `${SECRETS}/readMetadata/action` },
  recover: { bucket: 'other', dataAction: `${SECRETS}/recover/action` },
  purge: { bucket: 'other', dataAction: `${SECRETS}/purge/action` },
  backup: { bucket: 'other', dataAction: `${SECRETS}/backup/action` },
  restore: { bucket: 'create', dataAction: `${SECRETS}/restore/action` },
};
