import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { batchIdSchema, type Batch, type BatchSelector } from '../batch/model.js';
import { beginBatch, readBatchProgress, type BatchItemProgress } from '../batch/run.js';
import type { BatchStore } from '../batch/store.js';
import { secretNameSchema, vaultUrlSchema } from '../keyvault/secret-ref.js';
import type { EntryServices } from '../entry/services.js';
import { problem, ProblemType } from './problem.js';
import { checkBody, checkParam, instanceOf, readJsonBody, resolveVault } from './requests.js';

/**
 * The incident batch: `POST /api/rotations:batch` rotates every selected
 * managed secret of one vault now; `GET /api/batches/{id}` follows it.
 */

/** Tag names and values as Key Vault bounds them. */
const tagText = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');

/** A batch names at most this many secrets by name; more is a selector by tag. */
export const MAX_BATCH_NAMES = 1000;

const selectorSchema = z.union(
  [
    z.literal('all'),
    z.strictObject({
      tags: z.record(tagText, z.string().max(512, 'must be at most 512 characters')).refine((t) => Object.keys(t).length > 0, 'must name at least one tag'),
    }),
    z.strictObject({
      names: z
        .array(secretNameSchema)
        .min(1, 'must name at least one secret')
        .max(MAX_BATCH_NAMES, `must name at most ${MAX_BATCH_NAMES} secrets; select by tag instead`)
        .refine((names) => new Set(names.map((n) => n.toLowerCase())).size === names.length, 'must not name a secret twice'),
    }),
  ],
  { error: 'must be "all", { "tags": { "<tag>": "<value>" } } or { "names": ["<secret>", ...] }' },
);

export const startBatchBodySchema = z.strictObject({
  vault: z.string({ error: 'must be a vault URL string' }).max(2048, 'is too long').pipe(vaultUrlSchema).optional(),
  selector: selectorSchema,
  reason: z
    .string({ error: 'is required: why everything is rotated now (an incident, a ticket)' })
    .trim()
    .min(1, 'must not be empty')
    .max(500, 'must be at most 500 characters')
    .refine((v) => ![...v].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c.codePointAt(0) === 0x7f), 'must not contain control characters'),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  force: z.boolean({ error: 'must be true or false' }).optional(),
});

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

function apiBase(request: HttpRequest): string {
  try {
    return `${new URL(request.url).origin}/api`;
  } catch {
    return '/api';
  }
}

async function answering(request: HttpRequest, services: EntryServices, handle: (batches: BatchStore) => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    if (services.batches === undefined) throw new Error('no batch store is configured');
    return await handle(services.batches);
  } catch (error) {
    services.log.error('request failed', { method: request.method, path: instanceOf(request), error });
    return problem(ProblemType.Internal, 500, 'An internal error occurred; it has been logged. Retry later.', { instance: instanceOf(request) });
  }
}

function toSelector(selector: z.output<typeof selectorSchema>): BatchSelector {
  return selector === 'all' ? { all: true } : selector;
}

function presentItem(request: HttpRequest, item: BatchItemProgress): unknown {
  return 'rotationId' in item ? { ...item, location: `${apiBase(request)}/rotations/${encodeURIComponent(item.rotationId)}` } : item;
}

function presentBatch(request: HttpRequest, batch: Batch): Record<string, unknown> {
  const { vaultUrl, selector, ...rest } = batch;
  return { ...rest, vault: vaultUrl, selector: 'all' in selector ? 'all' : selector, links: { self: `${apiBase(request)}/batches/${batch.id}` } };
}

/** `POST /api/rotations:batch` `{ vault?, selector, reason, dryRun?, force? }`: 202 with the batch id (200 for a dry run). */
export function handleStartBatch(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services, async (batches) => {
    const raw = await readJsonBody(request);
    if (!raw.ok) return raw.response;
    const body = checkBody(request, startBatchBodySchema, raw.value);
    if (!body.ok) return body.response;
    const vault = resolveVault(request, body.value.vault, services.allowedVaults, 'body');
    if (!vault.ok) return vault.response;

    const dryRun = body.value.dryRun ?? false;
    const batch = await beginBatch(
      { vaultUrl: vault.value, selector: toSelector(body.value.selector), reason: body.value.reason, dryRun, force: body.value.force ?? false },
      services,
      batches,
    );
    const location = `${apiBase(request)}/batches/${batch.id}`;
    const count = (outcome: string): number => batch.items.filter((i) => i.outcome === outcome).length;
    const summary = { started: count('started'), active: count('active'), skipped: count('skipped'), ...(dryRun ? { wouldRotate: count('would-rotate') } : {}) };
    return json(
      dryRun ? 200 : 202,
      { batchId: batch.id, ...summary, ...presentBatch(request, batch), items: batch.items.map((i) => presentItem(request, i)), location },
      { location },
    );
  });
}

/** `GET /api/batches/{id}`: the batch with its rotations counted by status. */
export function handleGetBatch(request: HttpRequest, services: EntryServices): Promise<HttpResponseInit> {
  return answering(request, services, async (batches) => {
    const id = checkParam(request, 'id', batchIdSchema);
    if (!id.ok) return id.response;
    const batch = await batches.getBatch(id.value);
    if (batch === undefined) {
      return problem(ProblemType.BatchNotFound, 404, `No batch has the id ${id.value}`, {
        instance: instanceOf(request),
        errors: [{ field: 'id', in: 'path', detail: 'no such batch' }],
      });
    }
    const progress = await readBatchProgress(batch, services.ledger);
    return json(200, {
      ...presentBatch(request, batch),
      total: batch.items.length,
      counts: progress.counts,
      skipped: progress.skipped,
      done: progress.done,
      items: progress.items.map((i) => presentItem(request, i)),
    });
  });
}
