/** Key Vault's documented limits for secrets, enforced as the service does (400 BadParameter). */
export const secretLimits = {
  namePattern: /^[0-9a-zA-Z-]{1,127}$/,
  maxValueBytes: 25 * 1024,
  maxTags: 15,
  maxTagNameLength: 512,
  maxTagValueLength: 512,
  maxContentTypeLength: 255,
  maxPageSize: 25,
} as const;

/** Key Vault raises `SecretNearExpiry` this long before `exp`. */
export const NEAR_EXPIRY_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Life of a secret name. `deleting` and `recovering` are Key Vault's
 * asynchronous transitions (a few seconds in Azure; `deletionDelayMs` here):
 * during them the name is neither readable nor reusable.
 */
export const secretStates = {
  active: 'active',
  deleting: 'deleting',
  deleted: 'deleted',
  recovering: 'recovering',
} as const;
export type SecretState = (typeof secretStates)[keyof typeof secretStates];

export interface StoredVersion {
  version: string;
  value: string;
  contentType?: string | undefined;
  tags?: Record<string, string> | undefined;
  enabled: boolean;
  nbf?: number | undefined;
  exp?: number | undefined;
  /** Unix seconds. */
  created: number;
  updated: number;
  nearExpiryNotified: boolean;
  expiredNotified: boolean;
}

export interface StoredSecret {
  /** The name as first written; lookups are case-insensitive, like Key Vault's. */
  name: string;
  /** In creation order: the last one is the latest version. */
  versions: StoredVersion[];
  state: SecretState;
  /** Unix seconds, set while deleted. */
  deletedDate?: number | undefined;
  scheduledPurgeDate?: number | undefined;
  /** Emulator-clock milliseconds at which `deleting`/`recovering` completes. */
  transitionEndsMs?: number | undefined;
}

export const nameKey = (name: string): string => name.toLowerCase();
