import type { InvocationContext } from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { getRotor, type Rotor } from '../app/compose.js';
import { systemClock, type Clock } from '../rotation/ports.js';
import { createAppCredentialReader, type AppCredentialReader } from './graph-credentials.js';
import { createWarningPublisherFromSettings } from './publisher.js';
import { createBlobWarningRecord } from './warning-record.js';
import type { SweepListing } from '../sweep/sweep.js';
import { sendExpiryWarnings, type ExpiryWarningDeps, type ExpiryWarningReport } from './warnings.js';

/** What the radar API, the dashboard and the sweep's expiry warnings run on. */
export type RadarServices = ExpiryWarningDeps;

export interface RadarFromRotorOptions {
  /** Graph reader; default Graph in the public cloud with Rotor's identity. */
  readonly applications?: AppCredentialReader;
  readonly clock?: Clock;
}

/**
 * The radar over a composed Rotor: its settings, identity, Key Vault store and
 * policy reading; the warning record in the ledger's container; warnings
 * published to the notification topic. Graph is read with Rotor's identity
 * (`Application.Read.All`, or ownership of each watched app).
 */
export function radarFromRotor(rotor: Rotor, options: RadarFromRotorOptions = {}): RadarServices {
  const settings = rotor.settings;
  // Graph is only called when an application is watched; the identity is asked for then.
  const graphCredential: TokenCredential = { getToken: (scopes, tokenOptions) => rotor.credential().getToken(scopes, tokenOptions) };
  const applications = options.applications ?? createAppCredentialReader({ credential: graphCredential });
  return {
    sources: {
      allowedVaults: settings.allowedVaults,
      secrets: rotor.secretStore,
      readPolicy: rotor.entry.readPolicy,
      expiryHorizonMs: settings.expiryHorizonMs,
      watchApplications: settings.watchApplications,
      applications,
      log: rotor.logger,
    },
    record: createBlobWarningRecord(rotor.ledgerContainer),
    publisher: createWarningPublisherFromSettings(settings.notifications, rotor.credential, rotor.logger),
    thresholdsMs: settings.expiryWarningsMs,
    clock: options.clock ?? systemClock,
    log: rotor.logger,
  };
}

let provided: (() => Promise<RadarServices>) | undefined;
const built = new WeakMap<Rotor, RadarServices>();

/** Replaces the default services (the local stack with the Graph stand-in, tests); `undefined` goes back to the default. */
export function provideRadarServices(services: RadarServices | (() => Promise<RadarServices>) | undefined): void {
  provided = services === undefined ? undefined : typeof services === 'function' ? services : () => Promise.resolve(services);
}

export async function getRadarServices(): Promise<RadarServices> {
  if (provided !== undefined) return provided();
  const rotor = await getRotor();
  let services = built.get(rotor);
  if (services === undefined) {
    services = radarFromRotor(rotor);
    built.set(rotor, services);
  }
  return services;
}

/** The services with a logger that names the function and invocation. */
export async function radarServicesFor(context: InvocationContext): Promise<RadarServices> {
  const services = await getRadarServices();
  const log = services.log.child({ function: context.functionName, invocationId: context.invocationId });
  return { ...services, sources: { ...services.sources, log }, log };
}

/** The sweep's hook: sends the warnings due now, from the vaults as the sweep just `listed` them. Never throws. */
export async function warnOfExpiries(context: InvocationContext, listed?: SweepListing): Promise<ExpiryWarningReport> {
  try {
    const services = await radarServicesFor(context);
    return await sendExpiryWarnings(services, listed);
  } catch (error) {
    // Composition failed (bad settings): the sweep already logged and ran with the same services.
    return { sent: [], gaps: [{ source: 'radar', detail: error instanceof Error ? error.message.slice(0, 300) : 'unknown error' }], failed: 1 };
  }
}
