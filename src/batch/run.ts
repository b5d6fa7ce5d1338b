import { randomBytes } from 'node:crypto';
import { waitingOutThrottle } from '../keyvault/paced-secret-store.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import { WINDOW_MS, type VaultPacer } from '../pacing/vault-pacer.js';
import { isTerminal, RotationStatus, TriggerKind, type StepName } from '../rotation/model.js';
import type { RotationLedger, SecretVersionInfo } from '../rotation/ports.js';
import type { StartRotationResult } from '../rotation/start-types.js';
import type { EntryServices } from '../entry/services.js';
import type { Batch, BatchItem, BatchSelector } from './model.js';
import { selectForBatch } from './select.js';
import type { BatchStore } from './store.js';

export interface BeginBatchInput {
  readonly vaultUrl: string;
  readonly selector: BatchSelector;
  readonly reason: string;
  readonly dryRun: boolean;
  readonly force: boolean;
}

export interface BatchOptions {
  /** Starts in flight at once (each reads the secret, writes the ledger and sends a message). */
  readonly concurrency?: number;
  /** How many rotations begin per pacing window; the rest are scheduled for later windows. */
  readonly pace?: BatchPace;
}

export interface BatchPace {
  readonly perWindow: number;
  readonly windowMs: number;
}

/**
 * Key Vault allows about 300 secret creates per 10 seconds per vault, and a
 * rotation writes at most two (a pending value and the promoted version; a
 * rollback one more). Sixty begins per 10 seconds keep a batch at about 40% of
 * that, leaving room for events, the sweep and other writers of the vault.
 * Used when no shared budget is at hand (`paceFromBudget` otherwise).
 */
export const DEFAULT_BATCH_PACE: BatchPace = { perWindow: 60, windowMs: 10_000 };

/** Creates one rotation may cost, counted against the vault's budget when a batch spreads its begins. */
const CREATES_PER_ROTATION = 2;

/**
 * Begins per window from the vault's shared budget (src/pacing: 90% of the
 * limit by default, ROTOR_VAULT_BUDGET, lowered after a 429): as many as its
 * creates allow at two per rotation. The steps take their calls from the
 * same budget, so the batch never outruns what the vault admits; spreading
 * the begins only keeps the steps from queueing behind each other.
 */
export async function paceFromBudget(pacer: VaultPacer, vaultUrl: string): Promise<BatchPace> {
  const budget = await pacer.budgetOf(vaultUrl);
  return { perWindow: Math.max(1, Math.floor(budget.create / CREATES_PER_ROTATION)), windowMs: WINDOW_MS };
}

/** Starts in flight at once by default: enough to start hundreds in seconds, few enough to stay far under the vault's read budget. */
export const DEFAULT_BATCH_CONCURRENCY = 8;

/** Runs `work` over `items` with at most `limit` in flight; results keep the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

function itemOf(name: string, result: StartRotationResult): BatchItem {
  switch (result.outcome) {
    case 'started':
      return { secret: name, outcome: 'started', rotationId: result.rotationId, ...(result.startAt === undefined ? {} : { startAt: result.startAt }) };
    case 'duplicate':
      return { secret: name, outcome: 'started', rotationId: result.rotationId };
    case 'busy':
      return { secret: name, outcome: 'active', rotationId: result.activeRotationId };
    case 'not-found':
      return { secret: name, outcome: 'skipped', reason: 'no longer exists in the vault' };
    case 'not-managed':
      return { secret: name, outcome: 'skipped', reason: 'unmanaged: no rotor-rotator tag, so Rotor cannot rotate it; rotate it by hand' };
    case 'invalid-policy':
      return { secret: name, outcome: 'skipped', reason: `invalid policy: ${result.problems.map((p) => `${p.tag} ${p.message}`).join('; ')}` };
    case 'stale':
      return { secret: name, outcome: 'skipped', reason: `already rotated (latest version ${result.latestVersion})` };
    case 'paused':
      return { secret: name, outcome: 'skipped', reason: 'paused (rotor-paused=true); send force: true to rotate it anyway' };
    case 'dry-run':
      return { secret: name, outcome: 'would-rotate' };
  }
}

/**
 * Rotates every selected managed secret of one vault now. The selection is
 * made from one listing of the vault; each selected secret gets a manual
 * rotation whose reason names the batch, and the record (one blob) lists
 * what each secret got. A secret that cannot be started now (storage or vault
 * unavailable) is listed as skipped with the error, so running the batch again
 * picks it up; secrets already rotating are followed, not started twice.
 */
export async function beginBatch(input: BeginBatchInput, services: EntryServices, batches: BatchStore, options: BatchOptions = {}): Promise<Batch> {
  const id = `b-${randomBytes(12).toString('hex')}`;
  const createdAt = services.clock.now().toISOString();
  const listing: SecretVersionInfo[] = [];
  for await (const info of services.secrets.listSecrets(input.vaultUrl)) listing.push(info);
  const selection = selectForBatch(listing, input.selector, services.readPolicy, { force: input.force });
  const trigger = { kind: TriggerKind.Manual, reason: `batch ${id}: ${input.reason}` };
  const pace = options.pace ?? (services.pacer === undefined ? DEFAULT_BATCH_PACE : await paceFromBudget(services.pacer, input.vaultUrl).catch(() => DEFAULT_BATCH_PACE));
  const startAt = (index: number): Date | undefined => {
    const slot = Math.floor(index / Math.max(1, pace.perWindow));
    return slot === 0 ? undefined : new Date(Date.parse(createdAt) + slot * pace.windowMs);
  };

  const started = input.dryRun
    ? selection.rotate.map((info): BatchItem => ({ secret: info.secret.name, outcome: 'would-rotate' }))
    : await mapLimited(selection.rotate, options.concurrency ?? DEFAULT_BATCH_CONCURRENCY, async (info, index): Promise<BatchItem> => {
        const notBefore = startAt(index);
        try {
          // A start the vault's budget puts off waits for its slot rather than being skipped.
          const result = await waitingOutThrottle(
            () => services.startRotation(info.secret, trigger, { ...(input.force ? { force: true } : {}), ...(notBefore === undefined ? {} : { notBefore }) }),
            { clock: services.clock, maxWaitMs: 30_000 },
          );
          return itemOf(info.secret.name, result);
        } catch (error) {
          services.log.error('batch could not start a rotation', { batchId: id, secretRef: formatSecretRef(info.secret), error });
          return { secret: info.secret.name, outcome: 'skipped', reason: 'could not be started (vault or storage unavailable); run the batch again' };
        }
      });
  const batch: Batch = {
    id,
    vaultUrl: input.vaultUrl,
    selector: input.selector,
    reason: input.reason,
    dryRun: input.dryRun,
    force: input.force,
    createdAt,
    items: [...started, ...selection.skipped.map((s): BatchItem => ({ secret: s.secret, outcome: 'skipped', reason: s.reason }))],
  };
  await batches.createBatch(batch);
  const count = (outcome: BatchItem['outcome']): number => batch.items.filter((i) => i.outcome === outcome).length;
  services.log.info('batch begun', {
    batchId: id,
    vaultUrl: input.vaultUrl,
    dryRun: input.dryRun,
    started: count('started'),
    active: count('active'),
    skipped: count('skipped'),
  });
  return batch;
}

export type BatchItemProgress = BatchItem & { readonly status?: RotationStatus; readonly step?: StepName };

export interface BatchProgress {
  readonly batch: Batch;
  /** Rotations of the batch by status (every status present, zeros included). */
  readonly counts: Readonly<Record<RotationStatus, number>>;
  /** Selected secrets Rotor did not rotate (each item says why). */
  readonly skipped: number;
  /** Every rotation of the batch has ended. */
  readonly done: boolean;
  readonly items: readonly BatchItemProgress[];
}

/** The batch with each rotation's current status, read from the ledger. */
export async function readBatchProgress(batch: Batch, ledger: RotationLedger, options: BatchOptions = {}): Promise<BatchProgress> {
  const counts = Object.fromEntries(Object.values(RotationStatus).map((s) => [s, 0])) as Record<RotationStatus, number>;
  let skipped = 0;
  let done = true;
  const items = await mapLimited(batch.items, options.concurrency ?? 16, async (item): Promise<BatchItemProgress> => {
    if (item.outcome !== 'started' && item.outcome !== 'active') return item;
    const found = await ledger.getRotation(item.rotationId);
    return found === undefined ? item : { ...item, status: found.value.status, step: found.value.step };
  });
  for (const item of items) {
    if (item.outcome === 'skipped') skipped += 1;
    if (item.outcome !== 'started' && item.outcome !== 'active') continue;
    if (item.status === undefined) {
      done = false;
      continue;
    }
    counts[item.status] += 1;
    if (!isTerminal(item.status)) done = false;
  }
  return { batch, counts, skipped, done, items };
}
