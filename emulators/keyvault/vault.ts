import { randomBytes } from 'node:crypto';
import type { EmulatorClock } from './clock.js';
import { openBackup, sealBackup } from './backup.js';
import {
  deletedSecretNotFound,
  secretNotFound,
  VaultError,
  vaultErrorCodes,
  vaultInnerErrorCodes,
} from './errors.js';
import type { KeyVaultEventType } from './events.js';
import {
  NEAR_EXPIRY_WINDOW_MS,
  nameKey,
  secretStates,
  type StoredSecret,
  type StoredVersion,
} from './model.js';
import { checkSecretContent, type SetSecretBody, type UpdateSecretBody } from './requests.js';
import {
  toBundle,
  toDeletedBundle,
  type BundleContext,
  type WireDeletedSecretBundle,
  type WireSecretBundle,
} from './wire.js';

export interface PageRequest {
  readonly maxResults: number;
  /** Sort key of the last item already returned (from the skip token). */
  readonly after?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** Sort key to continue after, when more items remain. */
  readonly nextAfter?: string | undefined;
}

export interface VaultSettings extends BundleContext {
  readonly clock: EmulatorClock;
  readonly retentionDays: number;
  /** How long delete and recover stay in progress (emulator clock); 0 = at once. */
  readonly deletionDelayMs: number;
  readonly backupKey: Buffer;
  readonly publish: (type: KeyVaultEventType, secret: StoredSecret, version: StoredVersion) => void;
  /** Called after every change to stored state (persistence hooks in here). */
  readonly changed: () => void;
}

const SECONDS_PER_DAY = 86_400;
const toSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * The secrets of one vault and the rules Key Vault applies to them. Every
 * method either returns the wire shape Key Vault answers with or throws the
 * `VaultError` Key Vault would answer with; HTTP lives elsewhere.
 */
export class SecretVault {
  readonly #secrets = new Map<string, StoredSecret>();

  constructor(readonly settings: VaultSettings) {}

  setSecret(name: string, body: SetSecretBody): WireSecretBundle {
    const existing = this.#lookup(name);
    if (existing !== undefined) this.#assertWritable(existing);
    checkSecretContent(body);
    const now = toSeconds(this.settings.clock.nowMs());
    const version: StoredVersion = {
      version: randomBytes(16).toString('hex'),
      value: body.value,
      contentType: body.contentType ?? undefined,
      tags: body.tags ?? undefined,
      enabled: body.attributes?.enabled ?? true,
      nbf: body.attributes?.nbf ?? undefined,
      exp: body.attributes?.exp ?? undefined,
      created: now,
      updated: now,
      nearExpiryNotified: false,
      expiredNotified: false,
    };
    const secret = existing ?? { name, versions: [], state: secretStates.active };
    secret.versions.push(version);
    this.#secrets.set(nameKey(name), secret);
    this.settings.publish('Microsoft.KeyVault.SecretNewVersionCreated', secret, version);
    this.#publishDueExpiryEvents([secret]);
    this.settings.changed();
    return toBundle(this.settings, secret, version, { withValue: true });
  }

  getSecret(name: string, version: string | undefined): WireSecretBundle {
    const secret = this.#active(name);
    const found = this.#version(secret, name, version);
    if (!found.enabled) {
      throw new VaultError(
        403,
        vaultErrorCodes.Forbidden,
        'Operation get is not allowed on a disabled secret.',
        vaultInnerErrorCodes.SecretDisabled,
      );
    }
    return toBundle(this.settings, secret, found, { withValue: true });
  }

  updateSecret(name: string, version: string | undefined, body: UpdateSecretBody): WireSecretBundle {
    const secret = this.#active(name);
    const found = this.#version(secret, name, version);
    checkSecretContent(body);
    if (body.contentType !== undefined) found.contentType = body.contentType ?? undefined;
    if (body.tags !== undefined) found.tags = body.tags ?? undefined;
    const attributes = body.attributes;
    if (attributes !== null && attributes !== undefined) {
      if (typeof attributes.enabled === 'boolean') found.enabled = attributes.enabled;
      if (attributes.nbf !== undefined) found.nbf = attributes.nbf ?? undefined;
      if (attributes.exp !== undefined && (attributes.exp ?? undefined) !== found.exp) {
        // A new expiry is a new schedule: its events are owed again.
        found.exp = attributes.exp ?? undefined;
        found.nearExpiryNotified = false;
        found.expiredNotified = false;
      }
    }
    found.updated = toSeconds(this.settings.clock.nowMs());
    this.#publishDueExpiryEvents([secret]);
    this.settings.changed();
    return toBundle(this.settings, secret, found, { withValue: false });
  }

  listSecrets(page: PageRequest): Page<WireSecretBundle> {
    const active = this.#sorted().filter((s) => s.state === secretStates.active);
    return paginate(active, (s) => nameKey(s.name), page, (s) =>
      toBundle(this.settings, s, latest(s), { withValue: false, withVersion: false }),
    );
  }

  /** Versions in version-id order, as Key Vault lists them (not creation order). */
  listSecretVersions(name: string, page: PageRequest): Page<WireSecretBundle> {
    const secret = this.#lookup(name);
    if (secret === undefined || secret.state !== secretStates.active) return { items: [] };
    const versions = [...secret.versions].sort((a, b) => a.version.localeCompare(b.version));
    return paginate(versions, (v) => v.version, page, (v) =>
      toBundle(this.settings, secret, v, { withValue: false }),
    );
  }

  deleteSecret(name: string): WireDeletedSecretBundle {
    const secret = this.#active(name);
    const nowMs = this.settings.clock.nowMs();
    secret.deletedDate = toSeconds(nowMs);
    secret.scheduledPurgeDate = secret.deletedDate + this.settings.retentionDays * SECONDS_PER_DAY;
    this.#transition(secret, secretStates.deleting, secretStates.deleted, nowMs);
    this.settings.changed();
    return toDeletedBundle(this.settings, secret, latest(secret), { withVersion: true });
  }

  getDeletedSecret(name: string): WireDeletedSecretBundle {
    const secret = this.#deleted(name);
    return toDeletedBundle(this.settings, secret, latest(secret), { withVersion: true });
  }

  listDeletedSecrets(page: PageRequest): Page<WireDeletedSecretBundle> {
    const deleted = this.#sorted().filter((s) => s.state === secretStates.deleted);
    return paginate(deleted, (s) => nameKey(s.name), page, (s) =>
      toDeletedBundle(this.settings, s, latest(s), { withVersion: false }),
    );
  }

  recoverDeletedSecret(name: string): WireSecretBundle {
    const secret = this.#deleted(name);
    this.#transition(secret, secretStates.recovering, secretStates.active, this.settings.clock.nowMs());
    if (secret.state === secretStates.active) this.#publishDueExpiryEvents([secret]);
    this.settings.changed();
    return toBundle(this.settings, secret, latest(secret), { withValue: false });
  }

  purgeDeletedSecret(name: string): void {
    this.#deleted(name);
    this.#secrets.delete(nameKey(name));
    this.settings.changed();
  }

  backupSecret(name: string): { value: string } {
    const secret = this.#active(name);
    return { value: sealBackup(this.settings.backupKey, { name: secret.name, versions: secret.versions }) };
  }

  restoreSecret(blob: string): WireSecretBundle {
    const backup = openBackup(this.settings.backupKey, blob);
    const existing = this.#lookup(backup.name);
    if (existing !== undefined) {
      this.#assertWritable(existing);
      throw new VaultError(
        409,
        vaultErrorCodes.Conflict,
        `Secret ${backup.name} already exists in this vault; a backup can only be restored under a name that is not in use.`,
      );
    }
    const secret: StoredSecret = {
      name: backup.name,
      versions: backup.versions.map((v) => ({ ...v })),
      state: secretStates.active,
    };
    this.#secrets.set(nameKey(secret.name), secret);
    this.#publishDueExpiryEvents([secret]);
    this.settings.changed();
    return toBundle(this.settings, secret, latest(secret), { withValue: false });
  }

  /**
   * Publishes every `SecretNearExpiry` / `SecretExpired` that has come due,
   * oldest first, once per version. Runs after writes and whenever the clock
   * moves; also completes pending deletions/recoveries and scheduled purges.
   */
  checkExpiry(): void {
    const secrets = [...this.#secrets.keys()]
      .map((key) => this.#settle(key))
      .filter((s): s is StoredSecret => s !== undefined);
    this.#publishDueExpiryEvents(secrets);
  }

  snapshot(): StoredSecret[] {
    return [...this.#secrets.values()].map((s) => structuredClone(s));
  }

  load(secrets: readonly StoredSecret[]): void {
    this.#secrets.clear();
    for (const secret of secrets) this.#secrets.set(nameKey(secret.name), structuredClone(secret));
  }

  clear(): void {
    this.#secrets.clear();
    this.settings.changed();
  }

  get size(): number {
    return this.#secrets.size;
  }

  #publishDueExpiryEvents(secrets: readonly StoredSecret[]): void {
    const nowMs = this.settings.clock.nowMs();
    const due: Array<{ at: number; type: KeyVaultEventType; secret: StoredSecret; version: StoredVersion }> = [];
    for (const secret of secrets) {
      if (secret.state !== secretStates.active) continue;
      for (const version of secret.versions) {
        if (version.exp === undefined) continue;
        const expMs = version.exp * 1000;
        if (!version.nearExpiryNotified && nowMs >= expMs - NEAR_EXPIRY_WINDOW_MS) {
          due.push({ at: expMs - NEAR_EXPIRY_WINDOW_MS, type: 'Microsoft.KeyVault.SecretNearExpiry', secret, version });
        }
        if (!version.expiredNotified && nowMs >= expMs) {
          due.push({ at: expMs, type: 'Microsoft.KeyVault.SecretExpired', secret, version });
        }
      }
    }
    if (due.length === 0) return;
    due.sort((a, b) => a.at - b.at);
    for (const event of due) {
      if (event.type === 'Microsoft.KeyVault.SecretNearExpiry') event.version.nearExpiryNotified = true;
      else event.version.expiredNotified = true;
      this.settings.publish(event.type, event.secret, event.version);
    }
    this.settings.changed();
  }

  #transition(secret: StoredSecret, during: StoredSecret['state'], after: StoredSecret['state'], nowMs: number): void {
    if (this.settings.deletionDelayMs > 0) {
      secret.state = during;
      secret.transitionEndsMs = nowMs + this.settings.deletionDelayMs;
    } else {
      this.#finishTransition(secret, after);
    }
  }

  #finishTransition(secret: StoredSecret, state: StoredSecret['state']): void {
    secret.state = state;
    secret.transitionEndsMs = undefined;
    if (state === secretStates.active) {
      secret.deletedDate = undefined;
      secret.scheduledPurgeDate = undefined;
    }
  }

  /** Brings a secret's state up to the clock: finished transitions, purge at the scheduled date. */
  #settle(key: string): StoredSecret | undefined {
    const secret = this.#secrets.get(key);
    if (secret === undefined) return undefined;
    const nowMs = this.settings.clock.nowMs();
    if (secret.transitionEndsMs !== undefined && nowMs >= secret.transitionEndsMs) {
      this.#finishTransition(secret, secret.state === secretStates.deleting ? secretStates.deleted : secretStates.active);
      this.settings.changed();
    }
    if (
      secret.state === secretStates.deleted &&
      secret.scheduledPurgeDate !== undefined &&
      nowMs >= secret.scheduledPurgeDate * 1000
    ) {
      this.#secrets.delete(key);
      this.settings.changed();
      return undefined;
    }
    return secret;
  }

  #lookup(name: string): StoredSecret | undefined {
    return this.#settle(nameKey(name));
  }

  #active(name: string): StoredSecret {
    const secret = this.#lookup(name);
    if (secret === undefined || secret.state !== secretStates.active) throw secretNotFound(name);
    return secret;
  }

  #deleted(name: string): StoredSecret {
    const secret = this.#lookup(name);
    if (secret === undefined || secret.state !== secretStates.deleted) throw deletedSecretNotFound(name);
    return secret;
  }

  #version(secret: StoredSecret, name: string, version: string | undefined): StoredVersion {
    if (version === undefined || version === '') return latest(secret);
    const wanted = version.toLowerCase();
    const found = secret.versions.find((v) => v.version === wanted);
    if (found === undefined) throw secretNotFound(`${name}/${version}`);
    return found;
  }

  /** A name that is deleted or in transition cannot take a new version. */
  #assertWritable(secret: StoredSecret): void {
    switch (secret.state) {
      case secretStates.active:
        return;
      case secretStates.deleting:
        throw new VaultError(
          409,
          vaultErrorCodes.Conflict,
          `Secret ${secret.name} is currently being deleted.`,
          vaultInnerErrorCodes.ObjectIsBeingDeleted,
        );
      case secretStates.deleted:
        throw new VaultError(
          409,
          vaultErrorCodes.Conflict,
          `Secret ${secret.name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
          vaultInnerErrorCodes.ObjectIsDeletedButRecoverable,
        );
      case secretStates.recovering:
        throw new VaultError(
          409,
          vaultErrorCodes.Conflict,
          `Secret ${secret.name} is currently being recovered and cannot be re-created; retry later.`,
          vaultInnerErrorCodes.ObjectIsBeingRecovered,
        );
    }
  }

  #sorted(): StoredSecret[] {
    return [...this.#secrets.keys()]
      .sort()
      .map((key) => this.#settle(key))
      .filter((s): s is StoredSecret => s !== undefined);
  }
}

function latest(secret: StoredSecret): StoredVersion {
  const last = secret.versions.at(-1);
  // A stored secret always has at least one version; anything else is a bug here.
  if (last === undefined) throw new Error(`secret ${secret.name} has no versions`);
  return last;
}

function paginate<S, T>(
  sorted: readonly S[],
  key: (item: S) => string,
  page: PageRequest,
  shape: (item: S) => T,
): Page<T> {
  const remaining = page.after === undefined ? sorted : sorted.filter((item) => key(item) > page.after!);
  const slice = remaining.slice(0, page.maxResults);
  const last = slice.at(-1);
  return {
    items: slice.map(shape),
    nextAfter: remaining.length > slice.length && last !== undefined ? key(last) : undefined,
  };
}
