import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SecretRef } from '../keyvault/secret-ref.js';
import type { PreparedCredential } from './rotator.js';
import { RotationError, RotationErrorCode } from './errors.js';
import { EngineTag } from './policy.js';
import type { SecretStore, StoredSecret } from './ports.js';

/**
 * Where a prepared value waits between `prepare` and the end of the rotation:
 * a companion secret in the same vault, never a message or the ledger (I5), and
 * never the live latest version of the managed secret (a disabled latest answers
 * 403 SecretDisabled to every consumer).
 *
 * - Name: `<name>-rotor-pending`, or `rotor-pending-<sha256 of the name>` when
 *   that would pass Key Vault's 127 characters.
 * - One version per rotation, tagged `rotor-pending-for` (the managed secret),
 *   `rotor-rotation`, `rotor-slot` and `rotor-refs` (the rotator's provider ids
 *   as JSON), and no policy tags, so the companion is never rotated itself.
 * - It is never deleted: deleting then re-setting a name is 409 until the
 *   soft-deleted secret is purged. Rotor disables each pending version when the
 *   rotation no longer needs it (retire, or the end of rollback).
 */
export const PendingTag = {
  For: 'rotor-pending-for',
  Refs: 'rotor-refs',
} as const;

const SUFFIX = '-rotor-pending';
const MAX_NAME = 127;
const MAX_TAG_VALUE = 512;

export function pendingSecretName(name: string): string {
  if (name.length + SUFFIX.length <= MAX_NAME) return `${name}${SUFFIX}`;
  return `rotor-pending-${createHash('sha256').update(name.toLowerCase()).digest('hex')}`;
}

export function pendingRef(secret: SecretRef): SecretRef {
  return { vaultUrl: secret.vaultUrl, name: pendingSecretName(secret.name) };
}

export interface PendingVersion {
  readonly version: string;
  readonly prepared: PreparedCredential;
}

const refsSchema = z.record(z.string(), z.string());

function parseRefs(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = refsSchema.safeParse(json);
  if (!parsed.success) throw new RotationError(RotationErrorCode.InvalidConfiguration, `tag ${PendingTag.Refs} of the pending version is not a JSON object of strings`);
  return parsed.data;
}

function fromStored(stored: StoredSecret): PendingVersion {
  const refs = parseRefs(stored.tags[PendingTag.Refs]);
  const slot = stored.tags[EngineTag.Slot];
  return {
    version: stored.version,
    prepared: {
      value: stored.value,
      ...(slot === undefined ? {} : { slot }),
      ...(stored.contentType === undefined ? {} : { contentType: stored.contentType }),
      ...(refs === undefined ? {} : { refs }),
    },
  };
}

/**
 * The pending version an earlier attempt of this rotation already wrote, if
 * the companion's latest version is it (a crash after the write, before the
 * ledger recorded it). A disabled latest is a finished rotation's: not ours.
 */
export async function findPending(store: SecretStore, secret: SecretRef, rotationId: string): Promise<PendingVersion | undefined> {
  const read = await store.getLatest(pendingRef(secret));
  if (read.kind !== 'found') return undefined;
  const latest = read.secret;
  const owner = latest.tags[PendingTag.For];
  if (owner === undefined || owner.toLowerCase() !== secret.name.toLowerCase()) {
    throw new RotationError(
      RotationErrorCode.PendingNameCollision,
      `secret ${pendingSecretName(secret.name)} exists and is not Rotor's pending companion of ${secret.name}; rename it`,
    );
  }
  return latest.tags[EngineTag.Rotation] === rotationId ? fromStored(latest) : undefined;
}

export async function writePending(store: SecretStore, secret: SecretRef, rotationId: string, prepared: PreparedCredential): Promise<string> {
  const tags: Record<string, string> = { [PendingTag.For]: secret.name, [EngineTag.Rotation]: rotationId };
  if (prepared.slot !== undefined) tags[EngineTag.Slot] = prepared.slot;
  if (prepared.refs !== undefined && Object.keys(prepared.refs).length > 0) {
    const json = JSON.stringify(prepared.refs);
    if (json.length > MAX_TAG_VALUE) {
      throw new RotationError(RotationErrorCode.InvalidConfiguration, `the rotator's references take ${json.length} characters; a tag holds ${MAX_TAG_VALUE}`);
    }
    tags[PendingTag.Refs] = json;
  }
  const written = await store.setSecret(pendingRef(secret), {
    value: prepared.value,
    tags,
    ...(prepared.contentType === undefined ? {} : { contentType: prepared.contentType }),
  });
  return written.version;
}

/** The pending version by id; `undefined` once disabled (its rotation has finished with it). */
export async function readPending(store: SecretStore, secret: SecretRef, version: string): Promise<PendingVersion | undefined> {
  const read = await store.getVersion(pendingRef(secret), version);
  return read.kind === 'found' ? fromStored(read.secret) : undefined;
}

export async function disablePending(store: SecretStore, secret: SecretRef, version: string): Promise<void> {
  await store.setEnabled(pendingRef(secret), version, false);
}
