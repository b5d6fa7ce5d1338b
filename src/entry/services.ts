import type { BatchStore } from '../batch/store.js';
import type { EventStart } from '../events/start-message.js';
import type { Logger } from '../observability/logger.js';
import type { RotationEngine } from '../rotation/engine.js';
import type { RotationPolicy } from '../rotation/policy-types.js';
import type { Clock, RotationLedger, SecretStore } from '../rotation/ports.js';
import type { StartRotation } from '../rotation/start-types.js';
import type { PolicyProblem } from '../rotation/rotator.js';
import type { VaultPacer } from '../pacing/vault-pacer.js';

/** What a secret's tags say about Rotor managing it (the engine's reading, minus the rotator object). */
export type PolicyReading =
  | { readonly kind: 'unmanaged' }
  | { readonly kind: 'valid'; readonly policy: RotationPolicy }
  | { readonly kind: 'invalid'; readonly rotator?: string; readonly problems: readonly PolicyProblem[] };

/**
 * The services behind Rotor's entry points — every function but the step
 * handler: the Key Vault event intake, the HTTP API and dashboard, the sweep,
 * the dead-letter handler (docs/operations.md, "Ways in"). The engine's entry
 * calls (start, resume, cancel, fail) and the ports they read. Built from the
 * one composition root (`entryServicesOf` in src/app/compose.ts).
 */
export interface EntryServices {
  readonly allowedVaults: readonly string[];
  /** Sweep horizon: secrets expiring within it are due. */
  readonly expiryHorizonMs: number;
  readonly startRotation: StartRotation;
  /** Enqueue first: the intake sends an admitted event to the step queue and answers (absent: it starts the rotation itself). */
  readonly enqueueStart?: (start: EventStart) => Promise<void>;
  /** A running rotation whose current message is this overdue has lost it; the sweep sends it again (default 10 minutes). */
  readonly stallAfterMs?: number;
  /** Sends a stuck rotation's current step again; the engine ends it if its deadline has passed. */
  readonly resumeRotation: RotationEngine['resumeRotation'];
  /** Ends the rotation a dead-lettered step belonged to, as a permanent failure of that step (see `advance`). */
  readonly failRotation: RotationEngine['failRotation'];
  /** An operator's cancel; absent where no engine runs (some tests). */
  readonly cancelRotation?: RotationEngine['cancelRotation'];
  readonly secrets: SecretStore;
  /** Key Vault's budget per vault (src/pacing): the batch paces its begins by it; absent in compositions of fakes. */
  readonly pacer?: VaultPacer;
  readonly ledger: RotationLedger;
  /** Incident batch records; absent where no batch is run (some tests). */
  readonly batches?: BatchStore;
  readonly readPolicy: (tags: Readonly<Record<string, string>>) => PolicyReading;
  readonly clock: Clock;
  readonly log: Logger;
}
