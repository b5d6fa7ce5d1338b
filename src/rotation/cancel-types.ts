import type { RotationStatus, StepName } from './model.js';

/**
 * `cancelRotation(id, { reason })`: an operator's cancel. Before promote the
 * rotation undoes what it did and ends Cancelled; after promote it rolls back;
 * once verify has passed the new credential stands (I8) and the cancel is
 * refused. A step that changes the world and is running when the cancel
 * arrives finishes first, so its undo record is in before anything is undone.
 */
export type CancelRotationResult =
  /** Accepted: `undo` ends Cancelled, `rollback` ends RolledBack (also for a rotation that was already rolling back). */
  | { readonly outcome: 'cancelling'; readonly rotationId: string; readonly via: 'undo' | 'rollback' }
  | { readonly outcome: 'not-found' }
  | { readonly outcome: 'ended'; readonly status: RotationStatus }
  /** Verify passed: the new credential stands; nothing to cancel. */
  | { readonly outcome: 'verified'; readonly step: StepName };

export type CancelRotation = (rotationId: string, options?: { readonly reason?: string }) => Promise<CancelRotationResult>;
