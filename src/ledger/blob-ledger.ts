import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import type { Rotation } from '../rotation/model.js';
import { systemClock, type AuditEntry, type Clock, type LockResult, type RotationLedger, type RotationSummary, type Versioned } from '../rotation/ports.js';
import { rotationSchema } from '../rotation/schema.js';
import { LedgerConflictError, LedgerError, LedgerErrorCode, ledgerErrorOf as translate } from './errors.js';
import { readRestError } from '../azure/rest-error.js';

/**
 * The ledger in one blob container (Storage Blob Data Contributor on it):
 *
 * - `rotations/<id>.json` — one record per rotation; created with
 *   `If-None-Match: *`, replaced with `If-Match: <etag>`, so a lost race is a
 *   `LedgerConflictError`, never an overwrite.
 * - `locks/<vault host>/<name>.json` — the per-secret lock (I2): created with
 *   `If-None-Match: *`, deleted with `If-Match`; it names its holder and since when.
 *   Never rewritten, so the instance that took it deletes it by the ETag it
 *   got (one request); any other instance reads it first.
 * - `index/<vault host>/<name>/<inverted ms>-<id>` — empty blobs whose names
 *   sort newest first, so a secret's history is a prefix listing.
 * - `audit/<yyyy>/<mm>/<dd>/<hh>/<min>-<shard>.jsonl` — append blobs, one JSON
 *   line per entry. A rotation's whole history (`auditTrailOf`, derived from
 *   its record) is appended as one block when it ends, to the blob of the
 *   minute it ended in, one of 4 shards by rotation id. An append blob holds
 *   at most 50,000 blocks: 200,000 rotations ending in one minute before any
 *   blob is full, and a full one (409 BlockCountExceedsLimit) spills into
 *   `<min>-<shard>.<n>.jsonl`. Histories appended to one blob while an append
 *   is under way go out together as the next block.
 */
export interface BlobLedgerOptions {
  readonly container: ContainerClient;
  readonly clock?: Clock;
}

export interface BlobLedger extends RotationLedger {
  /** Creates the container if it does not exist (local stack; in Azure the Bicep creates it). */
  ensureContainer(): Promise<void>;
}

const lockSchema = z.object({ rotationId: z.string().min(1), since: z.string() });

const INVERT_FROM = 9_999_999_999_999;

function secretKey(secret: SecretRef): string {
  return formatSecretRef(secret).toLowerCase();
}

function rotationBlob(id: string): string {
  return `rotations/${id}.json`;
}

function lockBlob(secret: SecretRef): string {
  return `locks/${secretKey(secret)}.json`;
}

function indexPrefix(secret: SecretRef): string {
  return `index/${secretKey(secret)}/`;
}

function indexBlob(rotation: Rotation): string {
  const inverted = String(INVERT_FROM - Date.parse(rotation.createdAt)).padStart(13, '0');
  return `${indexPrefix(rotation.secret)}${inverted}-${rotation.id}`;
}

/** Audit blobs per minute; a rotation's history lands in one of them. */
export const AUDIT_SHARDS = 4;
/** Azure's limit of blocks in one append blob. */
export const APPEND_BLOB_BLOCK_LIMIT = 50_000;
/** One append carries at most this much (Azure takes 4 MiB per block). */
const MAX_AUDIT_BLOCK_BYTES = 1024 * 1024;

function shardOf(rotationId: string): number {
  // FNV-1a: cheap and stable across processes and versions.
  let hash = 0x811c9dc5;
  for (let i = 0; i < rotationId.length; i += 1) hash = Math.imul(hash ^ rotationId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % AUDIT_SHARDS;
}

/** The append blob an audit entry goes to: by minute, then by rotation; `spill` > 0 once the first one filled up. */
export function auditBlobName(at: Date, rotationId: string, spill = 0): string {
  return spillName(auditShard(at, rotationId), spill);
}

function auditShard(at: Date, rotationId: string): string {
  const iso = at.toISOString();
  const shard = String(shardOf(rotationId)).padStart(2, '0');
  return `audit/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/${iso.slice(14, 16)}-${shard}`;
}

function spillName(shard: string, spill: number): string {
  return `${shard}${spill === 0 ? '' : `.${spill}`}.jsonl`;
}

function statusOf(error: unknown): number | undefined {
  return readRestError(error)?.status;
}

function isBlockCountExceeded(error: unknown): boolean {
  return statusOf(error) === 409 && (error as { code?: string }).code === 'BlockCountExceedsLimit';
}

/** Lines cut into blocks of at most `MAX_AUDIT_BLOCK_BYTES` (a single longer line is a block of its own). */
function blocksOf(lines: readonly string[]): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of lines) {
    const bytes = Buffer.byteLength(line);
    if (current.length > 0 && size + bytes > MAX_AUDIT_BLOCK_BYTES) {
      blocks.push(current.join(''));
      current = [];
      size = 0;
    }
    current.push(line);
    size += bytes;
  }
  if (current.length > 0) blocks.push(current.join(''));
  return blocks;
}

export function createBlobLedger(options: BlobLedgerOptions): BlobLedger {
  const { container } = options;
  const clock = options.clock ?? systemClock;
  const json = { blobHTTPHeaders: { blobContentType: 'application/json' } } as const;
  /** Entries waiting for the next append to their blob, and the blobs with an append under way. */
  const waiting = new Map<string, { lines: string[]; settle: { resolve: () => void; reject: (error: unknown) => void }[] }>();
  const flushing = new Set<string>();
  /** Blobs found full, by base name: appends go to the spill blob with this number. */
  const spills = new Map<string, number>();
  /**
   * Locks this instance took, by secret: rotation and ETag. A lock blob is only ever created and deleted,
   * never rewritten, so its ETag names it until it goes: release deletes `If-Match` it with no read first.
   */
  const taken = new Map<string, { rotationId: string; etag: string }>();
  /** Audit blobs this instance knows exist: the first append to any other creates it first (no 404 to learn it). */
  const created = new Set<string>();

  async function put(name: string, body: string, conditions: { ifMatch?: string; ifNoneMatch?: string }): Promise<string> {
    const response = await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { ...json, conditions });
    return response.etag ?? '';
  }

  /**
   * Download and ETag in one response, so the pair is consistent: a separate
   * getProperties could see a newer version than the one downloaded.
   */
  async function readConsistent(name: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      const response = await container.getBlockBlobClient(name).download();
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return { text: Buffer.concat(chunks).toString('utf8'), etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw translate(error, `read ${name}`);
    }
  }

  function parseRotation(text: string, id: string): Rotation {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LedgerError(LedgerErrorCode.Corrupt, `rotation ${id} is not JSON`);
    }
    const parsed = rotationSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new LedgerError(LedgerErrorCode.Corrupt, `rotation ${id} does not parse: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
    }
    return parsed.data;
  }

  async function getRotation(id: string): Promise<Versioned<Rotation> | undefined> {
    const blob = await readConsistent(rotationBlob(id));
    return blob === undefined ? undefined : { value: parseRotation(blob.text, id), etag: blob.etag };
  }

  async function readLock(secret: SecretRef): Promise<{ rotationId: string; since: string; etag: string } | undefined> {
    const blob = await readConsistent(lockBlob(secret));
    if (blob === undefined) return undefined;
    const parsed = lockSchema.safeParse(JSON.parse(blob.text));
    if (!parsed.success) throw new LedgerError(LedgerErrorCode.Corrupt, `lock of ${formatSecretRef(secret)} does not parse`);
    return { ...parsed.data, etag: blob.etag };
  }

  async function writeIndex(rotation: Rotation): Promise<void> {
    try {
      await put(indexBlob(rotation), '', {});
    } catch (error) {
      throw translate(error, `index ${rotation.id}`);
    }
  }

  async function deleteLock(secret: SecretRef, etag: string): Promise<'deleted' | 'gone' | 'changed'> {
    try {
      await container.getBlockBlobClient(lockBlob(secret)).delete({ conditions: { ifMatch: etag } });
      return 'deleted';
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return 'gone';
      if (status === 412) return 'changed';
      throw translate(error, `unlock ${formatSecretRef(secret)}`);
    }
  }

  async function takeLock(secret: SecretRef, rotationId: string): Promise<LockResult> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const etag = await put(lockBlob(secret), JSON.stringify({ rotationId, since: clock.now().toISOString() }), { ifNoneMatch: '*' });
        return { acquired: true, etag };
      } catch (error) {
        const translated = translate(error, `lock ${formatSecretRef(secret)}`);
        if (!(translated instanceof LedgerConflictError)) throw translated;
      }
      const held = await readLock(secret);
      if (held === undefined) continue; // released between our create and our read: try again
      if (held.rotationId === rotationId) return { acquired: true, etag: held.etag };
      return { acquired: false, heldBy: held.rotationId, since: held.since };
    }
    throw new LedgerConflictError(`lock ${formatSecretRef(secret)}: contended, try again`);
  }

  const ledger: BlobLedger = {
    async ensureContainer() {
      try {
        await container.createIfNotExists();
      } catch (error) {
        throw translate(error, `create container ${container.containerName}`);
      }
    },

    async createRotation(rotation) {
      let etag: string;
      try {
        etag = await put(rotationBlob(rotation.id), JSON.stringify(rotation), { ifNoneMatch: '*' });
      } catch (error) {
        const translated = translate(error, `create rotation ${rotation.id}`);
        // A crash may have come between the record and its index entry: heal it for the existing record.
        if (translated instanceof LedgerConflictError) {
          const existing = await getRotation(rotation.id);
          if (existing !== undefined) await writeIndex(existing.value);
        }
        throw translated;
      }
      await writeIndex(rotation);
      return { value: rotation, etag };
    },

    getRotation,

    async updateRotation(current, next) {
      try {
        const etag = await put(rotationBlob(next.id), JSON.stringify(next), { ifMatch: current.etag });
        return { value: next, etag };
      } catch (error) {
        throw translate(error, `update rotation ${next.id}`);
      }
    },

    async acquireLock(secret, rotationId) {
      const result = await takeLock(secret, rotationId);
      if (result.acquired) {
        if (taken.size >= 10_000) taken.delete(taken.keys().next().value as string);
        taken.set(secretKey(secret), { rotationId, etag: result.etag });
      }
      return result;
    },

    async releaseLock(secret, rotationId) {
      const known = taken.get(secretKey(secret));
      if (known?.rotationId === rotationId) {
        taken.delete(secretKey(secret));
        // Ours while the blob still has the ETag we created it with: no read first. Changed since: read below.
        if ((await deleteLock(secret, known.etag)) !== 'changed') return;
      }
      const held = await readLock(secret);
      if (held?.rotationId !== rotationId) return;
      await deleteLock(secret, held.etag); // released, or re-taken since we read it: either way not ours to delete
    },

    async activeRotation(secret) {
      return (await readLock(secret))?.rotationId;
    },

    async listRotations(secret, listOptions) {
      const limit = Math.min(Math.max(listOptions?.limit ?? 20, 1), 100);
      let names: string[] = [];
      let continuationToken: string | undefined;
      try {
        const pages = container
          .listBlobsFlat({ prefix: indexPrefix(secret) })
          .byPage({ maxPageSize: limit, ...(listOptions?.continuationToken === undefined ? {} : { continuationToken: listOptions.continuationToken }) });
        const page = (await pages.next()).value as { segment: { blobItems: { name: string }[] }; continuationToken?: string } | undefined;
        names = page?.segment.blobItems.map((b) => b.name) ?? [];
        continuationToken = page?.continuationToken === '' ? undefined : page?.continuationToken;
      } catch (error) {
        throw translate(error, `list rotations of ${formatSecretRef(secret)}`);
      }
      const ids = names.map((name) => name.slice(name.lastIndexOf('-') + 1));
      const records = await Promise.all(ids.map((id) => getRotation(id)));
      const items: RotationSummary[] = records
        .filter((r): r is Versioned<Rotation> => r !== undefined)
        .map(({ value: r }) => ({
          id: r.id,
          secret: r.secret,
          status: r.status,
          step: r.step,
          trigger: r.trigger,
          createdAt: r.createdAt,
          ...(r.endedAt === undefined ? {} : { endedAt: r.endedAt }),
          ...(r.reason === undefined ? {} : { reason: r.reason }),
        }));
      return continuationToken === undefined ? { items } : { items, continuationToken };
    },

    appendAudit(entries: readonly AuditEntry[]) {
      const [first] = entries;
      if (first === undefined) return Promise.resolve();
      const latest = entries.reduce((at, e) => (e.at > at ? e.at : at), first.at);
      const base = auditShard(new Date(latest), first.rotationId);
      return new Promise<void>((resolve, reject) => {
        let batch = waiting.get(base);
        if (batch === undefined) {
          batch = { lines: [], settle: [] };
          waiting.set(base, batch);
        }
        batch.lines.push(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
        batch.settle.push({ resolve, reject });
        if (!flushing.has(base)) void flushAudit(base);
      });
    },
  };

  return ledger;

  async function flushAudit(base: string): Promise<void> {
    flushing.add(base);
    try {
      for (let batch = waiting.get(base); batch !== undefined; batch = waiting.get(base)) {
        waiting.delete(base);
        try {
          for (const block of blocksOf(batch.lines)) await appendAuditBlock(base, block);
          for (const s of batch.settle) s.resolve();
        } catch (error) {
          const translated = translate(error, 'append audit');
          for (const s of batch.settle) s.reject(translated);
        }
      }
    } finally {
      flushing.delete(base);
    }
  }

  async function appendAuditBlock(base: string, block: string): Promise<void> {
    for (let spill = spills.get(base) ?? 0; ; spill += 1) {
      const name = spillName(base, spill);
      const blob = container.getAppendBlobClient(name);
      try {
        let response;
        if (!created.has(name)) await blob.createIfNotExists();
        try {
          response = await blob.appendBlock(block, Buffer.byteLength(block));
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
          // Deleted since (a retention policy): create it again.
          await blob.createIfNotExists();
          response = await blob.appendBlock(block, Buffer.byteLength(block));
        }
        remember(created, name);
        // Leave a blob for the next one before it is full, so this instance rarely meets the 409.
        if ((response.blobCommittedBlockCount ?? 0) >= APPEND_BLOB_BLOCK_LIMIT - 100) rememberSpill(base, spill + 1);
        return;
      } catch (error) {
        if (!isBlockCountExceeded(error)) throw error;
        rememberSpill(base, spill + 1);
      }
    }
  }

  function remember(names: Set<string>, name: string): void {
    if (names.size > 1_000) names.clear(); // old minutes: appends there are over
    names.add(name);
  }

  function rememberSpill(base: string, spill: number): void {
    if (spills.size > 1_000) spills.clear(); // old minutes: appends there are over
    spills.set(base, Math.max(spill, spills.get(base) ?? 0));
  }
}
