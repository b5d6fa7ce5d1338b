/* eslint-disable @typescript-eslint/require-await -- the fake mirrors an async port without doing I/O */
import { randomBytes } from 'node:crypto';
import { SecretStoreError, SecretStoreErrorCode } from '../../../src/keyvault/errors.js';
import type { SecretRef } from '../../../src/keyvault/secret-ref.js';
import type { NewSecretVersion, SecretRead, SecretStore, SecretVersionInfo } from '../../../src/rotation/ports.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';

interface FakeVersion {
  readonly version: string;
  readonly value: string;
  enabled: boolean;
  readonly tags: Record<string, string>;
  readonly contentType?: string;
  readonly expiresOn?: Date;
  readonly notBefore?: Date;
  readonly createdOn: Date;
}

export interface SeedSecret {
  readonly value: string;
  readonly tags?: Record<string, string>;
  readonly contentType?: string;
  readonly expiresOn?: Date;
  readonly enabled?: boolean;
  /** Set-up only: a version id of the test's choosing (an event fixture's), and a creation time in the past. */
  readonly version?: string;
  readonly createdOn?: Date;
}

/** A secret's versions as the fake holds them, oldest first; for assertions (values included, so never log them). */
export type FakeSecretVersion = FakeVersion;

export interface FakeSecretStore extends SecretStore {
  /** Writes a version directly (test set-up), bypassing call counting. */
  seed(ref: SecretRef, secret: SeedSecret): string;
  versions(ref: SecretRef): readonly FakeSecretVersion[];
  /** Every value ever stored, for leak scans. */
  allValues(): string[];
  /** Names of secrets in a vault. */
  names(vaultUrl: string): string[];
  readonly calls: { read: number; write: number };
}

const key = (ref: SecretRef): string => `${ref.vaultUrl}/${ref.name.toLowerCase()}`;

/**
 * Key Vault's secret semantics in memory: the latest version is the last one
 * created; a get of a disabled version (the latest included) fails with
 * `SecretDisabled`; at most 15 tags; versions are never deleted.
 */
export function createFakeSecretStore(options: { now?: () => Date } = {}): FakeSecretStore {
  const now = options.now ?? (() => new Date());
  const secrets = new Map<string, { ref: SecretRef; versions: FakeVersion[] }>();
  const calls = { read: 0, write: 0 };

  function info(ref: SecretRef, v: FakeVersion): SecretVersionInfo {
    return {
      secret: ref,
      version: v.version,
      enabled: v.enabled,
      tags: { ...v.tags },
      createdOn: v.createdOn,
      ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
      ...(v.expiresOn === undefined ? {} : { expiresOn: v.expiresOn }),
      ...(v.notBefore === undefined ? {} : { notBefore: v.notBefore }),
    };
  }

  function read(ref: SecretRef, v: FakeVersion | undefined): SecretRead {
    if (v === undefined) return { kind: 'missing' };
    if (!v.enabled) return { kind: 'disabled' };
    return { kind: 'found', secret: { ...info(ref, v), value: SecretValue.from(v.value) } };
  }

  function write(ref: SecretRef, secret: SeedSecret & { notBefore?: Date }): string {
    if (Object.keys(secret.tags ?? {}).length > 15) throw new SecretStoreError(SecretStoreErrorCode.BadRequest, `set ${ref.name}: more than 15 tags`, { statusCode: 400 });
    const entry = secrets.get(key(ref)) ?? { ref, versions: [] };
    secrets.set(key(ref), entry);
    const version: FakeVersion = {
      version: secret.version ?? randomBytes(16).toString('hex'),
      value: secret.value,
      enabled: secret.enabled ?? true,
      tags: { ...secret.tags },
      createdOn: secret.createdOn ?? now(),
      ...(secret.contentType === undefined ? {} : { contentType: secret.contentType }),
      ...(secret.expiresOn === undefined ? {} : { expiresOn: secret.expiresOn }),
      ...(secret.notBefore === undefined ? {} : { notBefore: secret.notBefore }),
    };
    entry.versions.push(version);
    return version.version;
  }

  return {
    calls,
    seed: (ref, secret) => write(ref, secret),
    versions: (ref) => secrets.get(key(ref))?.versions ?? [],
    allValues: () => [...secrets.values()].flatMap((s) => s.versions.map((v) => v.value)),
    names: (vaultUrl) => [...secrets.values()].filter((s) => s.ref.vaultUrl === vaultUrl).map((s) => s.ref.name),

    async getLatest(ref) {
      calls.read += 1;
      return read(ref, secrets.get(key(ref))?.versions.at(-1));
    },
    async getVersion(ref, version) {
      calls.read += 1;
      return read(ref, secrets.get(key(ref))?.versions.find((v) => v.version === version));
    },
    async setSecret(ref, secret: NewSecretVersion) {
      calls.write += 1;
      const version = write(ref, {
        value: secret.value.reveal(),
        tags: { ...secret.tags },
        ...(secret.contentType === undefined ? {} : { contentType: secret.contentType }),
        ...(secret.expiresOn === undefined ? {} : { expiresOn: secret.expiresOn }),
        ...(secret.notBefore === undefined ? {} : { notBefore: secret.notBefore }),
        ...(secret.enabled === undefined ? {} : { enabled: secret.enabled }),
      });
      const entry = secrets.get(key(ref));
      return info(ref, entry?.versions.find((v) => v.version === version) as FakeVersion);
    },
    async setEnabled(ref, version, enabled) {
      calls.write += 1;
      const found = secrets.get(key(ref))?.versions.find((v) => v.version === version);
      if (found === undefined) throw new SecretStoreError(SecretStoreErrorCode.NotFound, `update ${ref.name}/${version}: not found`, { statusCode: 404 });
      found.enabled = enabled;
    },
    async *listVersions(ref) {
      calls.read += 1;
      for (const v of secrets.get(key(ref))?.versions ?? []) yield info(ref, v);
    },
    async *listSecrets(vaultUrl) {
      calls.read += 1;
      for (const entry of secrets.values()) {
        const latest = entry.versions.at(-1);
        if (entry.ref.vaultUrl === vaultUrl && latest !== undefined) yield info(entry.ref, latest);
      }
    },
  };
}
