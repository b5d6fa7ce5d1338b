import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { formatSecretRef, type SecretRef } from '../keyvault/secret-ref.js';
import type { Rotation } from '../rotation/model.js';
import { systemClock, type AuditEntry, type Clock, type RotationLedger, type RotationSummary, type Versioned } from '../rotation/ports.js';
import { rotationSchema } from '../rotation/schema.js';
import { LedgerConflictError, LedgerError, LedgerErrorCode } from './errors.js';
import { describeRestFailure, readRestError, RestFailureKind } from '../azure/rest-error.js';

/**
 * The ledger in one blob container (Storage Blob Data Contributor on it):
 *
 * - `rotations/<id>.json` — one record per rotation; created with
 *   `If-None-Match: *`, replaced with `If-Match: <etag>`, so a lost race is a
 *   `LedgerConflictError`, never an overwrite.
 * - `locks/<vault host>/<name>.json` — the per-secret lock (I2): created with
 *   `If-None-Match: *`, deleted with `If-Match`; it names its holder and since when.
 * - `index/<vault host>/<name>/<inverted ms>-<id>` — empty blobs whose names
 *   sort newest first, so a secret's history is a prefix listing.
 * - `audit/<yyyy>/<mm>/<dd>/<hh>.jsonl` — append blobs, one JSON line per entry.
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

function auditBlob(at: Date): string {
  const iso = at.toISOString();
  return `audit/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}.jsonl`;
}

function statusOf(error: unknown): number | undefined {
  return readRestError(error)?.status;
}

function translate(error: unknown, what: string): LedgerError {
  if (error instanceof LedgerError) return error;
  const failure = readRestError(error);
  if (failure === undefined) return new LedgerError(LedgerErrorCode.Unavailable, `${what}: ${error instanceof Error ? error.name : 'error'}`, { cause: error });
  const detail = describeRestFailure(failure);
  switch (failure.kind) {
    case RestFailureKind.Conflict:
      return new LedgerConflictError(`${what}: lost a concurrent update (${detail})`, { cause: error });
    case RestFailureKind.PermissionDenied:
      return new LedgerError(LedgerErrorCode.Forbidden, `${what}: ${detail}`, { cause: error });
    case RestFailureKind.NoAnswer:
    case RestFailureKind.Throttled:
    case RestFailureKind.Unavailable:
      return new LedgerError(LedgerErrorCode.Unavailable, `${what}: ${detail}`, { cause: error });
    case RestFailureKind.NotFound:
    case RestFailureKind.Rejected:
      return new LedgerError(LedgerErrorCode.Unknown, `${what}: ${detail}`, { cause: error });
  }
}

export function createBlobLedger(options: BlobLedgerOptions): BlobLedger {
  const { container } = options;
  const clock = options.clock ?? systemClock;
  const json = { blobHTTPHeaders: { blobContentType: 'application/json' } } as const;

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

  return {
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
    },

    async releaseLock(secret, rotationId) {
      const held = await readLock(secret);
      if (held?.rotationId !== rotationId) return;
      try {
        await container.getBlockBlobClient(lockBlob(secret)).delete({ conditions: { ifMatch: held.etag } });
      } catch (error) {
        const status = statusOf(error);
        if (status === 404 || status === 412) return; // released, or re-taken since we read it
        throw translate(error, `unlock ${formatSecretRef(secret)}`);
      }
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

    async appendAudit(entry: AuditEntry) {
      const blob = container.getAppendBlobClient(auditBlob(new Date(entry.at)));
      const line = `${JSON.stringify(entry)}\n`;
      try {
        await blob.appendBlock(line, Buffer.byteLength(line));
      } catch (error) {
        if (statusOf(error) !== 404) throw translate(error, 'append audit');
        try {
          await blob.createIfNotExists();
          await blob.appendBlock(line, Buffer.byteLength(line));
        } catch (retryError) {
          throw translate(retryError, 'append audit');
        }
      }
    },
  };
}
