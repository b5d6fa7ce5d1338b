/**
 * What the expiry radar sees: every object with an expiry that Rotor can read,
 * whether or not Rotor rotates it. Items carry names, ids and dates only:
 * never a value, never a client secret's hint (its first characters).
 */

export const ExpiringKind = {
  /** A Key Vault secret (latest version), managed by Rotor or not. */
  Secret: 'secret',
  /** A client secret of an app registration (Graph `passwordCredentials`). */
  AppPassword: 'app-password',
  /** A certificate of an app registration (Graph `keyCredentials`). */
  AppCertificate: 'app-certificate',
} as const;
export type ExpiringKind = (typeof ExpiringKind)[keyof typeof ExpiringKind];

/** Why the radar watches an application: a secret's `entra-app-secret` policy names it, or `ROTOR_WATCH_APPLICATIONS` does. */
export type WatchReason = 'policy' | 'setting';

interface ExpiringBase {
  readonly kind: ExpiringKind;
  /**
   * Stable identity of the object across versions, used for warnings:
   * `<vault host>/<secret name>` or `applications/<appId>/<keyId>`.
   */
  readonly objectKey: string;
  /** Which version of the object expires: the Key Vault version id, or the credential's key id. */
  readonly version: string;
  readonly expiresOn: string;
  /** Negative once expired. */
  readonly expiresInSeconds: number;
  readonly expired: boolean;
}

export interface ExpiringSecret extends ExpiringBase {
  readonly kind: 'secret';
  readonly vaultUrl: string;
  readonly name: string;
  readonly enabled: boolean;
  /** Rotor manages it (a `rotor-rotator` tag), even if its policy is invalid. */
  readonly managed: boolean;
  readonly rotator?: string;
  /** Managed secrets: when the sweep starts its rotation. */
  readonly nextDue?: string;
}

export interface ExpiringAppCredential extends ExpiringBase {
  readonly kind: 'app-password' | 'app-certificate';
  readonly appId: string;
  readonly appDisplayName?: string;
  readonly keyId: string;
  readonly displayName?: string;
  readonly watchedBecause: readonly WatchReason[];
  /** Secrets whose `entra-app-secret` policy rotates this app (Rotor makes its new client secrets). */
  readonly rotatedBy: readonly { readonly vaultUrl: string; readonly name: string }[];
}

export type ExpiringItem = ExpiringSecret | ExpiringAppCredential;

/** Something the radar could not read this time; the rest of the answer stands. */
export interface RadarGap {
  /** A vault URL or `applications/<appId>`. */
  readonly source: string;
  readonly detail: string;
}

export interface RadarScan {
  readonly asOf: string;
  readonly withinSeconds: number;
  /** Soonest first; expired items lead. */
  readonly items: readonly ExpiringItem[];
  readonly gaps: readonly RadarGap[];
}
