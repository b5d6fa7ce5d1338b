import { createHash, randomUUID } from 'node:crypto';
import { formatSecretRef, type SecretRef } from '../../../src/keyvault/secret-ref.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { RotationStatus, StepName, Strategy, type RotationTrigger } from '../../../src/rotation/model.js';
import type { Clock, Notifier, RotationLedger, RotationNotification, SecretRead, SecretStore, SecretVersionInfo, StepMessage, StepQueue } from '../../../src/rotation/ports.js';
import type { StartRotation, StartRotationResult } from '../../../src/rotation/start-types.js';
import { parseIsoDuration } from '../../../src/time/iso-duration.js';
import { entryServicesOver } from '../../../src/app/compose.js';
import { createRandomRotator } from '../../../src/rotators/random/random-rotator.js';
import { createRotatorRegistry } from '../../../src/rotation/rotator.js';
import type { PolicyReading, EntryServices } from '../../../src/entry/services.js';
import { createFakeLedger } from './ledger.js';
import { FAKE_VAULT, type FakeWorld } from './world.js';

/**
 * The entry services (src/entry/services.ts) over this folder's fakes, so the
 * ways in can be tested apart from the engine: the ledger is the one
 * in-memory ledger (./ledger.ts, held to the blob ledger's contract by
 * test/helpers/ledger-conformance.ts); the secret store here lists versions
 * and never holds a value.
 */

const key = (ref: SecretRef): string => `${ref.vaultUrl}|${ref.name.toLowerCase()}`;

export function createMemorySecretStore(initial: readonly SecretVersionInfo[] = []): SecretStore & {
  readonly add: (info: SecretVersionInfo) => void;
  readonly latest: (ref: SecretRef) => SecretVersionInfo | undefined;
} {
  const versions = new Map<string, SecretVersionInfo[]>();
  const add = (info: SecretVersionInfo): void => {
    const list = versions.get(key(info.secret)) ?? [];
    list.push(info);
    versions.set(key(info.secret), list);
  };
  initial.forEach(add);
  const latest = (ref: SecretRef): SecretVersionInfo | undefined => versions.get(key(ref))?.at(-1);
  const unsupported = (): never => {
    throw new Error('the ways in never read or write secret values');
  };
  return {
    add,
    getLatest: (): Promise<SecretRead> => unsupported(),
    getVersion: (): Promise<SecretRead> => unsupported(),
    setSecret: (): Promise<SecretVersionInfo> => unsupported(),
    setEnabled: (): Promise<void> => unsupported(),
    async *listVersions(ref) {
      await Promise.resolve();
      yield* versions.get(key(ref)) ?? [];
    },
    async *listSecrets(vaultUrl) {
      await Promise.resolve();
      for (const list of versions.values()) {
        const last = list.at(-1);
        if (last !== undefined && last.secret.vaultUrl === vaultUrl) yield last;
      }
    },
    latest,
  };
}

/** `rotor-rotator` makes a secret managed; a `rotor-validity` that is not a duration over 30 days makes its policy invalid. */
export function readTestPolicy(tags: Readonly<Record<string, string>>): PolicyReading {
  const rotator = tags['rotor-rotator'];
  if (rotator === undefined) return { kind: 'unmanaged' };
  const validity = parseIsoDuration(tags['rotor-validity'] ?? 'P90D');
  if (validity === undefined || validity <= 30 * 86_400_000) {
    return { kind: 'invalid', rotator, problems: [{ tag: 'rotor-validity', message: 'must be an ISO-8601 duration longer than 30 days' }] };
  }
  return {
    kind: 'valid',
    policy: {
      rotator,
      strategy: Strategy.Single,
      validityMs: validity,
      graceMs: 0,
      health: tags['rotor-health'] === undefined ? [] : [{ url: tags['rotor-health'], expectStatus: 200 }],
      tags,
      ...(tags['rotor-target'] === undefined ? {} : { target: tags['rotor-target'] }),
    },
  };
}

/** Rotation ids as the contract describes: derived from (vault, secret, version) for event and sweep triggers. */
export function derivedRotationId(secret: SecretRef, version: string): string {
  return createHash('sha256').update(`${secret.vaultUrl}|${secret.name.toLowerCase()}|${version}`).digest('hex').slice(0, 32);
}

export interface FakeStartRotation {
  readonly startRotation: StartRotation;
  readonly calls: { readonly secret: SecretRef; readonly trigger: RotationTrigger; readonly dryRun: boolean }[];
}

/** A `startRotation` that answers every outcome of the contract from the fake store and ledger. */
export function createFakeStartRotation(
  secrets: ReturnType<typeof createMemorySecretStore>,
  ledger: RotationLedger,
  queue: StepQueue,
  clock: Clock,
): FakeStartRotation {
  const calls: FakeStartRotation['calls'] = [];
  const startRotation: StartRotation = async (secret, trigger, options = {}): Promise<StartRotationResult> => {
    calls.push({ secret, trigger, dryRun: options.dryRun ?? false });
    const latest = secrets.latest(secret);
    if (latest === undefined) return { outcome: 'not-found' };
    const reading = readTestPolicy(latest.tags);
    if (reading.kind === 'unmanaged') return { outcome: 'not-managed' };
    if (reading.kind === 'invalid') return { outcome: 'invalid-policy', problems: reading.problems };
    if (trigger.version !== undefined && trigger.version !== latest.version) return { outcome: 'stale', latestVersion: latest.version };
    const id = trigger.version === undefined ? randomUUID() : derivedRotationId(secret, trigger.version);
    if ((await ledger.getRotation(id)) !== undefined) return { outcome: 'duplicate', rotationId: id };
    const active = await ledger.activeRotation(secret);
    if (active !== undefined) return { outcome: 'busy', activeRotationId: active };
    if (options.dryRun === true) {
      return {
        outcome: 'dry-run',
        report: { secret, currentVersion: latest.version, rotator: reading.policy.rotator, strategy: reading.policy.strategy, wouldRotate: true, summary: 'generate, promote, verify', checks: [] },
      };
    }
    const now = clock.now();
    await ledger.createRotation({
      id,
      secret,
      trigger,
      rotator: reading.policy.rotator,
      strategy: reading.policy.strategy,
      status: RotationStatus.Running,
      step: StepName.Begin,
      dryRun: false,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      deadline: new Date(now.getTime() + 3_600_000).toISOString(),
      versions: { previous: latest.version },
      steps: [],
      undo: [],
    });
    await ledger.acquireLock(secret, id);
    await queue.sendStep({ rotationId: id, secret, step: StepName.Begin, attempt: 1 });
    return { outcome: 'started', rotationId: id };
  };
  return { startRotation, calls };
}

export function createRecordingQueue(): StepQueue & { readonly sent: { message: StepMessage; notBefore?: Date }[] } {
  const sent: { message: StepMessage; notBefore?: Date }[] = [];
  return {
    sent,
    sendStep(message, options) {
      sent.push({ message, ...(options?.notBefore === undefined ? {} : { notBefore: options.notBefore }) });
      return Promise.resolve();
    },
  };
}

export function createRecordingNotifier(): Notifier & { readonly sent: RotationNotification[] } {
  const sent: RotationNotification[] = [];
  return {
    sent,
    notify(notification) {
      sent.push(notification);
      return Promise.resolve();
    },
  };
}

export function fixedClock(at: string): Clock & { set: (iso: string) => void } {
  let now = new Date(at);
  return {
    now: () => new Date(now.getTime()),
    set: (iso) => {
      now = new Date(iso);
    },
  };
}

export const TEST_VAULT = 'https://sample-kv.vault.azure.net';

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

/** A complete set of fakes wired as `EntryServices`. */
export function createFakeWaysIn(options: { allowedVaults?: string[]; secrets?: SecretVersionInfo[]; now?: string } = {}) {
  const sink = createMemorySink();
  const log = createLogger(sink, { level: 'debug' });
  const clock = fixedClock(options.now ?? '2026-11-22T10:00:00Z');
  const ledger = createFakeLedger({ now: () => clock.now() });
  const secrets = createMemorySecretStore(options.secrets ?? []);
  const queue = createRecordingQueue();
  const notifier = createRecordingNotifier();
  const start = createFakeStartRotation(secrets, ledger, queue, clock);
  const resumed: string[] = [];
  const failed: { message: StepMessage; reason: string }[] = [];
  const services: EntryServices = {
    allowedVaults: options.allowedVaults ?? [TEST_VAULT],
    expiryHorizonMs: 30 * 86_400_000,
    startRotation: start.startRotation,
    resumeRotation: (rotationId) => {
      resumed.push(rotationId);
      return Promise.resolve('resent');
    },
    failRotation: (message, reason) => {
      failed.push({ message, reason });
      return Promise.resolve('failed');
    },
    secrets,
    ledger,
    readPolicy: readTestPolicy,
    clock,
    log,
  };
  return { services, sink, clock, ledger, secrets, queue, notifier, resumed, failed, calls: start.calls, where: (ref: SecretRef) => formatSecretRef(ref) };
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
