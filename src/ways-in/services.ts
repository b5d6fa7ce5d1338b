import type { Logger } from '../observability/logger.js';
import type { RotationPolicy } from '../rotation/policy-types.js';
import type { Clock, Notifier, RotationLedger, SecretStore, StepQueue } from '../rotation/ports.js';
import type { StartRotation } from '../rotation/start-types.js';
import type { PolicyProblem } from '../rotators/rotator.js';

/** What a secret's tags say about Rotor managing it. */
export type PolicyReading =
  | { readonly kind: 'unmanaged' }
  | { readonly kind: 'valid'; readonly policy: RotationPolicy }
  | { readonly kind: 'invalid'; readonly rotator?: string; readonly problems: readonly PolicyProblem[] };

/**
 * Everything the ways in (intake, HTTP API, sweep, dead-letter handler) need.
 * Built once per process by the composition root from the settings; tests build
 * it from fakes. The functions in `functions/` read it through `getWaysInServices`.
 */
export interface WaysInServices {
  readonly allowedVaults: readonly string[];
  /** Sweep horizon: secrets expiring within it are due. */
  readonly expiryHorizonMs: number;
  readonly startRotation: StartRotation;
  readonly secrets: SecretStore;
  readonly ledger: RotationLedger;
  readonly queue: StepQueue;
  readonly notifier: Notifier;
  readonly readPolicy: (tags: Readonly<Record<string, string>>) => PolicyReading;
  readonly clock: Clock;
  readonly log: Logger;
}

type ServicesFactory = () => Promise<WaysInServices>;

let factory: ServicesFactory | undefined;
let current: Promise<WaysInServices> | undefined;

/**
 * Chooses how the process builds its services (the composition root does this
 * at start-up; the local host and tests pass their own). Resets what was built.
 */
export function provideWaysInServices(build: ServicesFactory | WaysInServices): void {
  factory = typeof build === 'function' ? build : () => Promise.resolve(build);
  current = undefined;
}

/** The process's services, built on first use; a failed build is retried on the next call. */
export function getWaysInServices(): Promise<WaysInServices> {
  if (factory === undefined) {
    return Promise.reject(new Error('Rotor services are not configured: the composition root must call provideWaysInServices at start-up'));
  }
  if (current === undefined) {
    const building = factory();
    current = building;
    building.catch(() => {
      if (current === building) current = undefined;
    });
  }
  return current;
}
