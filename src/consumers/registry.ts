import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { formatSecretRef, secretRefSchema, type SecretRef } from '../keyvault/secret-ref.js';
import { readRestError, RestFailureKind } from '../azure/rest-error.js';
import { LedgerError, LedgerErrorCode, ledgerErrorOf } from '../ledger/errors.js';
import { formatConsumerEntry, parseConsumerEntries, type ConsumerEntry } from './entries.js';

/**
 * The consumer registry: declared consumers of a secret beyond what the
 * 512-character `rotor-consumers` tag holds, kept beside the ledger in the
 * same container (`consumers/<vault host>/<name>.json`, ETag concurrency).
 * Managed through `PUT/GET/DELETE /api/secrets/{name}/consumers` and
 * `rotor consumers`. Entries are references (resource ids, URLs), never values.
 */
export const MAX_REGISTERED_CONSUMERS = 100;

export interface RegisteredConsumers {
  readonly secret: SecretRef;
  readonly entries: readonly ConsumerEntry[];
  readonly updatedAt: string;
  readonly etag: string;
}

export interface ConsumerRegistry {
  get(secret: SecretRef): Promise<RegisteredConsumers | undefined>;
  /** Replaces the list; with `ifMatch`, only if it is still at that ETag (`'*'`: only if absent is `ifNoneMatch`). */
  put(secret: SecretRef, entries: readonly ConsumerEntry[], conditions?: { readonly ifMatch?: string; readonly ifNoneMatch?: '*' }): Promise<RegisteredConsumers>;
  /** Removes the list; `false` when there was none. */
  delete(secret: SecretRef, conditions?: { readonly ifMatch?: string }): Promise<boolean>;
}

const recordSchema = z.object({
  secret: secretRefSchema,
  entries: z.array(z.string()).max(MAX_REGISTERED_CONSUMERS),
  updatedAt: z.string(),
});
type StoredRecord = z.infer<typeof recordSchema>;

function blobName(secret: SecretRef): string {
  return `consumers/${formatSecretRef(secret).toLowerCase()}.json`;
}

export interface BlobConsumerRegistryOptions {
  readonly container: ContainerClient;
  readonly now?: () => Date;
}

export function createBlobConsumerRegistry(options: BlobConsumerRegistryOptions): ConsumerRegistry {
  const { container } = options;
  const now = options.now ?? (() => new Date());

  function parse(secret: SecretRef, text: string, etag: string): RegisteredConsumers {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new LedgerError(LedgerErrorCode.Corrupt, `consumers of ${formatSecretRef(secret)} are not JSON`);
    }
    const record = recordSchema.safeParse(body);
    if (!record.success) throw new LedgerError(LedgerErrorCode.Corrupt, `consumers of ${formatSecretRef(secret)} do not parse`);
    const entries = parseConsumerEntries(record.data.entries);
    if ('problems' in entries) throw new LedgerError(LedgerErrorCode.Corrupt, `consumers of ${formatSecretRef(secret)} hold an entry Rotor does not read: ${entries.problems[0] ?? ''}`);
    return { secret: record.data.secret, entries: entries.entries, updatedAt: record.data.updatedAt, etag };
  }

  return {
    async get(secret) {
      const name = blobName(secret);
      try {
        const response = await container.getBlockBlobClient(name).download();
        const chunks: Buffer[] = [];
        for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        return parse(secret, Buffer.concat(chunks).toString('utf8'), response.etag ?? '');
      } catch (error) {
        if (readRestError(error)?.kind === RestFailureKind.NotFound) return undefined;
        throw ledgerErrorOf(error, `read consumers of ${formatSecretRef(secret)}`);
      }
    },

    async put(secret, entries, conditions = {}) {
      if (entries.length > MAX_REGISTERED_CONSUMERS) {
        throw new LedgerError(LedgerErrorCode.Unknown, `at most ${MAX_REGISTERED_CONSUMERS} consumers per secret`);
      }
      const record: StoredRecord = { secret, entries: entries.map(formatConsumerEntry), updatedAt: now().toISOString() };
      const text = JSON.stringify(record);
      try {
        const response = await container
          .getBlockBlobClient(blobName(secret))
          .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' }, conditions });
        return { secret, entries, updatedAt: record.updatedAt, etag: response.etag ?? '' };
      } catch (error) {
        throw ledgerErrorOf(error, `write consumers of ${formatSecretRef(secret)}`);
      }
    },

    async delete(secret, conditions = {}) {
      try {
        await container.getBlockBlobClient(blobName(secret)).delete({ conditions });
        return true;
      } catch (error) {
        if (readRestError(error)?.kind === RestFailureKind.NotFound) return false;
        throw ledgerErrorOf(error, `delete consumers of ${formatSecretRef(secret)}`);
      }
    },
  };
}
