import { getRotor, type Rotor } from '../app/compose.js';
import type { BatchStore } from '../batch/store.js';
import type { EventStart } from '../events/start-message.js';
import type { Logger } from '../observability/logger.js';
import type { RotationEngine } from '../rotation/engine.js';
import { readPolicy, type PolicyReading as EnginePolicyReading } from '../rotation/policy.js';
import type { RotationPolicy } from '../rotation/policy-types.js';
import { systemClock, type Clock, type RotationLedger, type SecretStore } from '../rotation/ports.js';
import type { StartRotation } from '../rotation/start-types.js';
import type { PolicyProblem } from '../rotation/rotator.js';

/** What a secret's tags say about Rotor managing it (the engine's reading, minus the rotator object). */
export type PolicyReading =
  | { readonly kind: 'unmanaged' }
  | { readonly kind: 'valid'; readonly policy: RotationPolicy }
  | { readonly kind: 'invalid'; readonly rotator?: string; readonly problems: readonly PolicyProblem[] };

/**
 * Everything the ways in (intake, HTTP API, sweep, dead-letter handler) need:
 * the engine's entry points and the ports they read. In a function app it is
 * derived from the composition root (`getRotor`); tests provide their own.
 */
export interface WaysInServices {
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
  readonly ledger: RotationLedger;
  /** Incident batch records; absent where no batch is run (some tests). */
  readonly batches?: BatchStore;
  readonly readPolicy: (tags: Readonly<Record<string, string>>) => PolicyReading;
  readonly clock: Clock;
  readonly log: Logger;
}

/** The ways in over a composed Rotor. */
export function waysInFromRotor(rotor: Rotor): WaysInServices {
  return {
    allowedVaults: rotor.settings.allowedVaults,
    expiryHorizonMs: rotor.settings.expiryHorizonMs,
    stallAfterMs: rotor.settings.stallAfterMs,
    startRotation: rotor.engine.startRotation,
    ...(rotor.startQueue === undefined ? {} : { enqueueStart: (start: EventStart) => rotor.startQueue!.enqueue(start) }),
    resumeRotation: (rotationId) => rotor.engine.resumeRotation(rotationId),
    failRotation: (message, reason) => rotor.engine.failRotation(message, reason),
    cancelRotation: (rotationId, options) => rotor.engine.cancelRotation(rotationId, options),
    secrets: rotor.secretStore,
    ledger: rotor.ledger,
    batches: rotor.batches,
    readPolicy: (tags) => {
      const reading: EnginePolicyReading = readPolicy(tags, { rotators: rotor.rotators, minValidityMs: rotor.settings.expiryHorizonMs });
      return reading.kind === 'valid' ? { kind: 'valid', policy: reading.policy } : reading;
    },
    clock: systemClock,
    log: rotor.logger,
  };
}

let provided: (() => Promise<WaysInServices>) | undefined;

/** Replaces the composition root's services (tests with fakes); `undefined` goes back to `getRotor`. */
export function provideWaysInServices(services: WaysInServices | (() => Promise<WaysInServices>) | undefined): void {
  provided = services === undefined ? undefined : typeof services === 'function' ? services : () => Promise.resolve(services);
}

/** The services the functions run with. */
export async function getWaysInServices(): Promise<WaysInServices> {
  if (provided !== undefined) return provided();
  return waysInFromRotor(await getRotor());
}
