import { z } from 'zod';
import type { Style } from './render.js';

/**
 * The incident batch as the CLI shows it: the API's batch record (loose, so
 * `--json` passes new fields through) and the progress line redrawn while it
 * runs. Pure: the caller polls and writes.
 */

export const batchItemSchema = z.looseObject({
  secret: z.string(),
  outcome: z.string(),
  rotationId: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
});

export const batchSchema = z.looseObject({
  batchId: z.string().optional(),
  id: z.string(),
  vault: z.string(),
  reason: z.string(),
  dryRun: z.boolean(),
  createdAt: z.string(),
  items: z.array(batchItemSchema),
  counts: z.record(z.string(), z.number()).optional(),
  skipped: z.number().optional(),
  done: z.boolean().optional(),
  total: z.number().optional(),
});
export type BatchView = z.infer<typeof batchSchema>;

export const cancelSchema = z.looseObject({ rotationId: z.string(), outcome: z.string(), via: z.string().optional() });
export type CancelView = z.infer<typeof cancelSchema>;

/** Batch ids are `b-` and 24 hex characters; `rotor status` tells them from rotation ids by that. */
export function isBatchId(id: string): boolean {
  return /^b-[0-9a-f]{24}$/.test(id);
}

const BAR_WIDTH = 30;

export interface BatchTally {
  /** Rotations the batch started or follows. */
  readonly rotations: number;
  readonly ended: number;
  readonly completed: number;
  /** Ended other than Completed (rolled back, failed, aborted, skipped, cancelled). */
  readonly notCompleted: number;
  readonly skipped: number;
}

const TERMINAL = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped', 'Cancelled']);

export function tallyBatch(view: BatchView): BatchTally {
  let rotations = 0;
  let ended = 0;
  let completed = 0;
  let skipped = 0;
  for (const item of view.items) {
    if (item.outcome === 'skipped') skipped += 1;
    if (item.rotationId === undefined) continue;
    rotations += 1;
    if (item.status !== undefined && TERMINAL.has(item.status)) ended += 1;
    if (item.status === 'Completed') completed += 1;
  }
  return { rotations, ended, completed, notCompleted: ended - completed, skipped };
}

/** `[##########....................]  67/200 ended  Completed 65  Failed 2  Running 133` */
export function renderProgressLine(view: BatchView, style: Style): string {
  const tally = tallyBatch(view);
  const filled = tally.rotations === 0 ? BAR_WIDTH : Math.round((tally.ended / tally.rotations) * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const counts = Object.entries(view.counts ?? {})
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${status} ${n}`)
    .join('  ');
  const line = `${bar} ${String(tally.ended).padStart(String(tally.rotations).length)}/${tally.rotations} ended${counts === '' ? '' : `  ${counts}`}`;
  return style.color ? `\u001b[1m${line}\u001b[0m` : line;
}

/** What the batch selected: started, followed, skipped (each with its reason). */
export function renderBatchStart(view: BatchView): string[] {
  const count = (outcome: string): number => view.items.filter((i) => i.outcome === outcome).length;
  const lines = view.dryRun
    ? [`Dry run of a batch in ${view.vault}: ${count('would-rotate')} would rotate, ${count('skipped')} skipped`]
    : [`Batch ${view.id} in ${view.vault}: ${count('started')} started, ${count('active')} already rotating (followed), ${count('skipped')} skipped`];
  if (view.dryRun) for (const item of view.items.filter((i) => i.outcome === 'would-rotate')) lines.push(`  would rotate ${item.secret}`);
  for (const item of view.items.filter((i) => i.outcome === 'skipped')) lines.push(`  skipped ${item.secret}: ${item.reason ?? ''}`);
  return lines;
}

/** The end of a batch: counts, then each rotation that did not complete. */
export function renderBatchEnd(view: BatchView): string[] {
  const tally = tallyBatch(view);
  const lines = [`Batch ${view.id}: ${tally.completed} of ${tally.rotations} rotations Completed, ${tally.notCompleted} did not, ${tally.skipped} secrets skipped`];
  for (const item of view.items) {
    if (item.rotationId !== undefined && item.status !== undefined && item.status !== 'Completed' && TERMINAL.has(item.status)) {
      lines.push(`  ${item.status} ${item.secret}: rotor status ${item.rotationId}`);
    }
  }
  return lines;
}
