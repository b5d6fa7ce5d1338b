import { randomBytes } from 'node:crypto';
import type { SecretRef } from '../../../src/keyvault/secret-ref.js';
import type { RotationTrigger } from '../../../src/rotation/model.js';
import type { SecretVersionInfo } from '../../../src/rotation/ports.js';
import type { StartRotation } from '../../../src/rotation/start-types.js';
import { entryServicesOver } from '../../../src/app/compose.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry } from '../../../src/rotation/rotator.js';
import type { EntryServices } from '../../../src/entry/services.js';
import type { FakeSecretStore } from './secret-store.js';
import { createFakeWorld, FAKE_VAULT, type FakeWorld } from './world.js';

/**
 * The entry services (src/entry/services.ts) over this folder's fakes: the
 * real engine (its `startRotation`, `resumeRotation`, `failRotation`,
 * `cancelRotation`) and the real policy reading, on the in-memory ports of a
 * fake world, wired as the composition root wires them (`entryServicesOver`).
 */

export const TEST_VAULT = 'https://sample-kv.vault.azure.net';

/** A version as a listing shows it; `createFakeWaysIn` seeds the fake store with it (and a value nobody reads). */
export function secretInfo(
  name: string,
  version: string,
  options: { tags?: Record<string, string>; expiresOn?: string; createdOn?: string; enabled?: boolean; vaultUrl?: string } = {},
): SecretVersionInfo {
  return {
    secret: { vaultUrl: options.vaultUrl ?? TEST_VAULT, name },
    version,
    enabled: options.enabled ?? true,
    tags: options.tags ?? {},
    ...(options.expiresOn === undefined ? {} : { expiresOn: new Date(options.expiresOn) }),
    ...(options.createdOn === undefined ? {} : { createdOn: new Date(options.createdOn) }),
  };
}

/** Writes `info` into the fake store as a new latest version, keeping its version id and dates. */
export function seedVersion(store: FakeSecretStore, info: SecretVersionInfo): void {
  store.seed(info.secret, {
    value: `seeded-${randomBytes(12).toString('hex')}`,
    version: info.version,
    tags: { ...info.tags },
    enabled: info.enabled,
    ...(info.expiresOn === undefined ? {} : { expiresOn: info.expiresOn }),
    ...(info.createdOn === undefined ? {} : { createdOn: info.createdOn }),
  });
}

/** What the entry points asked the engine to start, in order (the engine's answers are in the ledger and the results). */
export type StartCalls = { readonly secret: SecretRef; readonly trigger: RotationTrigger; readonly dryRun: boolean }[];

/** Records every call of `start` before passing it on, unchanged. */
export function recordingStarts(start: StartRotation, calls: StartCalls): StartRotation {
  return (secret, trigger, options) => {
    calls.push({ secret, trigger, dryRun: options?.dryRun ?? false });
    return start(secret, trigger, options);
  };
}

/**
 * A fake world (the real engine over in-memory ports) whose store holds
 * `secrets`, with its entry services; `calls` lists the starts asked for.
 */
export function createFakeWaysIn(options: { allowedVaults?: string[]; secrets?: readonly SecretVersionInfo[]; now?: string } = {}) {
  const world = createFakeWorld({ now: Date.parse(options.now ?? '2026-11-22T10:00:00Z') });
  for (const info of options.secrets ?? []) seedVersion(world.store, info);
  const calls: StartCalls = [];
  const entry = waysInOverWorld(world, { allowedVaults: options.allowedVaults ?? [TEST_VAULT] });
  const services: EntryServices = { ...entry, startRotation: recordingStarts(entry.startRotation, calls) };
  return {
    services,
    world,
    calls,
    clock: world.clock,
    ledger: world.ledger,
    store: world.store,
    logs: world.logs,
    /** A new latest version of a secret (an operator's write). */
    addVersion: (info: SecretVersionInfo) => seedVersion(world.store, info),
  };
}

/** The entry services over the engine's own fake world: the real engine, in-memory ports, wired as the composition root wires them. */
export function waysInOverWorld(world: FakeWorld, options: { readonly allowedVaults?: readonly string[] } = {}): EntryServices {
  return entryServicesOver({
    engine: world.engine,
    secretStore: world.store,
    ledger: world.ledger,
    rotators: createRotatorRegistry([createRandomRotator()]),
    allowedVaults: options.allowedVaults ?? [FAKE_VAULT],
    expiryHorizonMs: 30 * 86_400_000,
    clock: world.clock,
    logger: world.logger,
  });
}
