/* eslint-disable @typescript-eslint/require-await -- the fake mirrors an async port without doing I/O */
import { formatSecretRef, type SecretRef } from '../../../src/keyvault/secret-ref.js';
import { LedgerConflictError } from '../../../src/ledger/errors.js';
import type { Rotation } from '../../../src/rotation/model.js';
import type { AuditEntry, RotationLedger, RotationSummary, Versioned } from '../../../src/rotation/ports.js';

export interface FakeLedger extends RotationLedger {
  /** Stored records as JSON text (what the blob would hold): for leak scans. */
  blobs(): string[];
  readonly audit: AuditEntry[];
  /** The lock holder per secret (`host/name` lower-cased). */
  locks(): ReadonlyMap<string, string>;
  rotations(): Rotation[];
  /** Test set-up: every lock goes, as if each holder had ended. */
  releaseAll(): void;
}

const lockKey = (secret: SecretRef): string => formatSecretRef(secret).toLowerCase();

/** The ledger's ETag semantics in memory: stale updates and duplicate creates are conflicts, never overwrites. */
export function createFakeLedger(options: { now: () => Date }): FakeLedger {
  const records = new Map<string, { json: string; etag: string }>();
  const lockTable = new Map<string, { rotationId: string; since: string }>();
  const audit: AuditEntry[] = [];
  let etags = 0;
  const nextEtag = (): string => `"${(etags += 1)}"`;
  const read = (id: string): Versioned<Rotation> | undefined => {
    const r = records.get(id);
    return r === undefined ? undefined : { value: JSON.parse(r.json) as Rotation, etag: r.etag };
  };

  return {
    audit,
    blobs: () => [...[...records.values()].map((r) => r.json), ...audit.map((a) => JSON.stringify(a))],
    locks: () => new Map([...lockTable].map(([k, v]) => [k, v.rotationId])),
    rotations: () => [...records.keys()].map((id) => read(id)?.value as Rotation),
    releaseAll: () => lockTable.clear(),

    async createRotation(rotation) {
      if (records.has(rotation.id)) throw new LedgerConflictError(`rotation ${rotation.id} exists`);
      const etag = nextEtag();
      records.set(rotation.id, { json: JSON.stringify(rotation), etag });
      return { value: structuredClone(rotation), etag };
    },
    async getRotation(id) {
      return read(id);
    },
    async updateRotation(current, next) {
      const stored = records.get(current.value.id);
      if (stored === undefined || stored.etag !== current.etag) throw new LedgerConflictError(`rotation ${current.value.id} changed since it was read`);
      const etag = nextEtag();
      records.set(next.id, { json: JSON.stringify(next), etag });
      return { value: structuredClone(next), etag };
    },
    async acquireLock(secret, rotationId) {
      const held = lockTable.get(lockKey(secret));
      if (held === undefined) {
        lockTable.set(lockKey(secret), { rotationId, since: options.now().toISOString() });
        return { acquired: true, etag: nextEtag() };
      }
      if (held.rotationId === rotationId) return { acquired: true, etag: nextEtag() };
      return { acquired: false, heldBy: held.rotationId, since: held.since };
    },
    async releaseLock(secret, rotationId) {
      if (lockTable.get(lockKey(secret))?.rotationId === rotationId) lockTable.delete(lockKey(secret));
    },
    async activeRotation(secret) {
      return lockTable.get(lockKey(secret))?.rotationId;
    },
    async listRotations(secret, listOptions) {
      const all = [...records.keys()]
        .map((id) => read(id)?.value as Rotation)
        .filter((r) => lockKey(r.secret) === lockKey(secret))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const start = listOptions?.continuationToken === undefined ? 0 : Number(listOptions.continuationToken);
      const limit = listOptions?.limit ?? 20;
      const items: RotationSummary[] = all.slice(start, start + limit).map((r) => ({
        id: r.id,
        secret: r.secret,
        status: r.status,
        step: r.step,
        trigger: r.trigger,
        createdAt: r.createdAt,
        ...(r.endedAt === undefined ? {} : { endedAt: r.endedAt }),
        ...(r.reason === undefined ? {} : { reason: r.reason }),
      }));
      return start + limit < all.length ? { items, continuationToken: String(start + limit) } : { items };
    },
    async appendAudit(entries) {
      audit.push(...structuredClone(entries));
    },
  };
}
