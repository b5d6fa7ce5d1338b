import type { SecretRef } from '../keyvault/secret-ref.js';
import type { SecretValue } from '../secrecy/secret-value.js';
import type { ConsumerRecord, Rotation, RotationStatus, RotationTrigger, StepName } from './model.js';

/**
 * The ports the step machine runs on. Each has an Azure adapter (Key Vault,
 * Service Bus, Blob Storage, Event Grid, HTTP) and can be faked in unit tests;
 * the end-to-end tests run the Azure adapters against the emulators.
 */

// ---- SecretStore (Key Vault) ----------------------------------------------

export interface SecretVersionInfo {
  readonly secret: SecretRef;
  readonly version: string;
  readonly enabled: boolean;
  readonly contentType?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdOn?: Date;
  readonly updatedOn?: Date;
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
}

export interface StoredSecret extends SecretVersionInfo {
  readonly value: SecretValue;
}

export interface NewSecretVersion {
  readonly value: SecretValue;
  readonly tags: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
  readonly enabled?: boolean;
}

/**
 * A read that may meet a version that is not there to read: Key Vault answers a
 * get of a disabled version (the latest included) with 403 SecretDisabled, and
 * of an unknown one with 404. Both are ordinary answers here, not errors.
 */
export type SecretRead =
  | { readonly kind: 'found'; readonly secret: StoredSecret }
  | { readonly kind: 'disabled' }
  | { readonly kind: 'missing' };

/**
 * Key Vault, as Rotor needs it. Needs Key Vault Secrets Officer on the vault.
 * Implementations back off on 429 (which usually has no Retry-After) and 5xx
 * themselves, and translate errors once into `SecretStoreError`.
 */
export interface SecretStore {
  /** The latest version; `missing` when the secret does not exist, `disabled` when its latest version is disabled. */
  getLatest(ref: SecretRef): Promise<SecretRead>;
  getVersion(ref: SecretRef, version: string): Promise<SecretRead>;
  /** Creates a new version, which becomes the latest. */
  setSecret(ref: SecretRef, secret: NewSecretVersion): Promise<SecretVersionInfo>;
  setEnabled(ref: SecretRef, version: string, enabled: boolean): Promise<void>;
  listVersions(ref: SecretRef): AsyncIterable<SecretVersionInfo>;
  /**
   * Properties of the latest version of every secret in the vault. Key Vault's
   * listing names no version, so `version` is `''` here: read the latest
   * (`getLatest`) when the version matters (sweep, status).
   */
  listSecrets(vaultUrl: string): AsyncIterable<SecretVersionInfo>;
}

// ---- StepQueue (Service Bus) ----------------------------------------------

/** The only thing that travels on the queue: references, never values (I5). */
export interface StepMessage {
  readonly rotationId: string;
  readonly secret: SecretRef;
  readonly step: StepName;
  /** 1-based attempt of this step; part of the message id, so a re-send is dropped as a duplicate. */
  readonly attempt: number;
}

export interface StepQueue {
  /** Sends now, or scheduled for `notBefore`. Session id = the secret, so one secret's steps run in order. */
  sendStep(message: StepMessage, options?: { readonly notBefore?: Date }): Promise<void>;
}

// ---- RotationLedger (Blob Storage) ----------------------------------------

/** A record with the ETag it was read at; updates are conditional on it. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

export type LockResult =
  | { readonly acquired: true; readonly etag: string }
  | { readonly acquired: false; readonly heldBy: string; /** When the holder took the lock (ISO-8601). */ readonly since?: string };

export interface RotationSummary {
  readonly id: string;
  readonly secret: SecretRef;
  readonly status: RotationStatus;
  readonly step: StepName;
  readonly trigger: RotationTrigger;
  readonly createdAt: string;
  readonly endedAt?: string;
  readonly reason?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly continuationToken?: string;
}

export interface AuditEntry {
  readonly at: string;
  readonly rotationId: string;
  readonly secret: SecretRef;
  readonly event: string;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Durable record of every rotation and the per-secret lock (I2), with ETag
 * concurrency: a lost race surfaces as `LedgerConflictError`, never as an
 * overwrite. Needs Storage Blob Data Owner (or Contributor) on the container.
 */
export interface RotationLedger {
  /** Creates the record; fails with a conflict when the id exists. */
  createRotation(rotation: Rotation): Promise<Versioned<Rotation>>;
  getRotation(id: string): Promise<Versioned<Rotation> | undefined>;
  /** Replaces the record if it is still at `current.etag`. */
  updateRotation(current: Versioned<Rotation>, next: Rotation): Promise<Versioned<Rotation>>;
  /** Takes the secret's lock for `rotationId`; re-entrant for the same rotation id. */
  acquireLock(secret: SecretRef, rotationId: string): Promise<LockResult>;
  /** Releases the lock if `rotationId` holds it; releasing a lock not held is a no-op. */
  releaseLock(secret: SecretRef, rotationId: string): Promise<void>;
  /** The rotation holding the secret's lock, if any. */
  activeRotation(secret: SecretRef): Promise<string | undefined>;
  listRotations(secret: SecretRef, options?: { readonly limit?: number; readonly continuationToken?: string }): Promise<Page<RotationSummary>>;
  /**
   * Appends one rotation's entries to the audit trail, together (one block),
   * in the blob of the minute of the latest entry: the engine writes a
   * rotation's whole history (`auditTrailOf`) once, when it ends.
   */
  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
}

// ---- Notifier (Event Grid) ------------------------------------------------

export const NotificationType = {
  Started: 'Rotor.Rotation.Started',
  Completed: 'Rotor.Rotation.Completed',
  RolledBack: 'Rotor.Rotation.RolledBack',
  Failed: 'Rotor.Rotation.Failed',
  Aborted: 'Rotor.Rotation.Aborted',
  Cancelled: 'Rotor.Rotation.Cancelled',
} as const;
export type NotificationType = (typeof NotificationType)[keyof typeof NotificationType];

export interface RotationNotification {
  readonly type: NotificationType;
  readonly rotationId: string;
  readonly secret: SecretRef;
  readonly status: RotationStatus;
  readonly versions: Rotation['versions'];
  readonly reason?: string;
  readonly durationMs?: number;
  /** Declared consumers: nudged when, adopted which version when, what each reported. */
  readonly consumers?: readonly ConsumerRecord[];
}

export interface Notifier {
  /** Best effort: a notification that cannot be sent is logged, never fails a rotation. */
  notify(notification: RotationNotification): Promise<void>;
}

// ---- HealthProbe ------------------------------------------------------------

export type HealthResult =
  | { readonly healthy: true }
  | { readonly healthy: false; readonly reason: string };

export interface HealthProbe {
  /** Probes every target once; unhealthy names the first failing target and why. */
  check(targets: readonly { readonly url: string; readonly expectStatus: number }[], options?: { readonly signal?: AbortSignal }): Promise<HealthResult>;
}

// ---- Clock --------------------------------------------------------------------

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
