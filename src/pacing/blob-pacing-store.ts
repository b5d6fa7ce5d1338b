import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { readRestError, RestFailureKind } from '../azure/rest-error.js';
import { PacingError, PacingErrorCode } from './errors.js';
import type { PacingStore, VaultBudgetState } from './vault-pacer.js';

/**
 * The pacing records in the ledger's container, `pacing/<vault host>.json`,
 * one small JSON blob per vault, created with `If-None-Match: *` and replaced
 * with `If-Match`, so that instances never overwrite each other's claims.
 * Needs what the ledger needs (Storage Blob Data Contributor on the container).
 */

const countsSchema = z.object({ create: z.number().int().min(0), other: z.number().int().min(0) });
const stateSchema = z.object({ rate: z.number().min(0).max(1), rateAt: z.number(), slots: z.record(z.string().regex(/^\d+$/), countsSchema) });

export function createBlobPacingStore(container: ContainerClient): PacingStore {
  const blobOf = (vault: string) => container.getBlockBlobClient(`pacing/${vault}.json`);
  return {
    async read(vault) {
      let text: string;
      let etag: string;
      try {
        const response = await blobOf(vault).download();
        const chunks: Buffer[] = [];
        for await (const chunk of response.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        text = Buffer.concat(chunks).toString('utf8');
        etag = response.etag ?? '';
      } catch (error) {
        const failure = readRestError(error);
        if (failure?.kind === RestFailureKind.NotFound) return undefined;
        throw new PacingError(PacingErrorCode.Unavailable, `read pacing/${vault}: ${failure?.status ?? 'no response'}`, { cause: error });
      }
      let parsed: VaultBudgetState;
      try {
        parsed = stateSchema.parse(JSON.parse(text));
      } catch (error) {
        throw new PacingError(PacingErrorCode.Unavailable, `pacing/${vault} does not parse`, { cause: error });
      }
      return { state: parsed, etag };
    },

    async write(vault, state, etag) {
      const body = JSON.stringify(state);
      try {
        await blobOf(vault).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
          conditions: etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: etag },
        });
        return true;
      } catch (error) {
        const failure = readRestError(error);
        if (failure?.kind === RestFailureKind.Conflict) return false;
        throw new PacingError(PacingErrorCode.Unavailable, `write pacing/${vault}: ${failure?.status ?? 'no response'}`, { cause: error });
      }
    },
  };
}
