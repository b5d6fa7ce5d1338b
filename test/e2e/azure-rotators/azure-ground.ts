import { expect } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator, type AzureManagementEmulatorOptions } from '../../../emulators/azure-management/index.js';
import { createRotationStepsHandler } from '../../../functions/rotationSteps.js';
import type { SecretRef } from '../../../src/keyvault/secret-ref.js';
import type { Rotation } from '../../../src/rotation/model.js';
import { pendingSecretName } from '../../../src/rotation/pending.js';
import type { StartRotationResult } from '../../../src/rotation/start-types.js';
import { createAzureRotators } from '../../../src/rotators/azure-rotators.js';
import type { Rotator } from '../../../src/rotation/rotator.js';
import { crashingPorts, untilNoCrash, type CrashSwitch } from '../../helpers/crash-replay.js';
import { createE2ERotor, startE2EGround, versionsOf, type E2EGround, type E2ERotor } from '../../helpers/e2e-stack.js';
import { createFakeLedger, type FakeLedger } from '../../helpers/fakes/ledger.js';
import type { EnginePorts } from '../../helpers/fakes/world.js';
import type { RotationLedger } from '../../../src/rotation/ports.js';
import { memoryTransport, stepInvocation, type Delivery, type StepTransport } from '../../helpers/e2e-transport.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';

/**
 * The ground for the Azure rotators end to end: the Key Vault emulator, Azurite
 * (ledger) and a consumer app with a health endpoint (`startE2EGround`), plus
 * the ARM/Graph stand-in with its own Azurite holding the storage accounts'
 * real keys. Rotors built on it run the four rotators exactly as
 * `createAzureRotators` builds them in the composition root, with only the
 * endpoints and the stand-in's CA changed.
 *
 * Steps travel on the in-memory queue with a virtual clock: grace periods,
 * health retries and revoke-after cost no real time, and a crash-replay run
 * of dozens of rotations stays within seconds. (The Service Bus transport is
 * proven by the engine's own e2e suite; nothing here depends on it.)
 */
export interface AzureGround {
  readonly ground: E2EGround;
  readonly standIn: AzureManagementEmulator;
  stop(): Promise<void>;
}

export async function startAzureGround(standInOptions: AzureManagementEmulatorOptions = {}): Promise<AzureGround> {
  const [ground, standIn] = await Promise.all([startE2EGround(), startAzureManagementEmulator({ azurite: true, ...standInOptions })]);
  return {
    ground,
    standIn,
    stop: async () => {
      await Promise.all([ground.stop(), standIn.stop()]);
    },
  };
}

export function azureRotatorsFor(standIn: AzureManagementEmulator): Rotator[] {
  return createAzureRotators({
    credential: createFakeCredential(),
    tenantId: standIn.tenantId,
    endpoints: { arm: standIn.armEndpoint, graph: standIn.graphEndpoint, authorityHost: standIn.authorityHost },
    blobEndpoint: (name) => standIn.blobEndpoint(name),
    transport: { tls: { ca: standIn.ca }, retryDelayMs: 5 },
  });
}

/**
 * One Rotor (engine, ledger, queue) on the ground; a crash switch wraps every
 * port and rotator. `memoryLedger` swaps the blob ledger for the in-memory one:
 * the crash-replay runs use it, because a rotation then costs a third of the
 * time (~50 ms instead of ~150 ms) and the blob ledger's own crash-replay is
 * the engine suite's (`test/e2e/crash-and-faults.test.ts`); the crash points
 * are the same, since the switch wraps the same ledger methods.
 */
export interface AzureWorld {
  readonly transport: StepTransport;
  readonly rotor: E2ERotor;
  /** The ledger the engine writes to: the blob ledger on Azurite, or the in-memory one (`memoryLedger`). */
  readonly ledger: RotationLedger;
  readonly memoryLedger?: FakeLedger;
}

export async function createAzureWorld(azure: AzureGround, options: { readonly crash?: CrashSwitch; readonly maxStepAttempts?: number; readonly memoryLedger?: boolean } = {}): Promise<AzureWorld> {
  const transport = memoryTransport();
  const crash = options.crash;
  const memory = options.memoryLedger === true ? createFakeLedger({ now: () => transport.clock.now() }) : undefined;
  const swap = (ports: EnginePorts): EnginePorts => (memory === undefined ? ports : { ...ports, ledger: memory });
  const rotor = await createE2ERotor(azure.ground, {
    stepQueue: transport.stepQueue,
    clock: transport.clock,
    rotators: azureRotatorsFor(azure.standIn),
    settings: { maxStepAttempts: options.maxStepAttempts ?? 3 },
    wrapPorts: (ports) => (crash === undefined ? swap(ports) : crashingPorts(swap(ports), crash)),
  });
  return { transport, rotor, ledger: memory ?? rotor.ledger, ...(memory === undefined ? {} : { memoryLedger: memory }) };
}

/** The exported step function, as the Functions host calls it, over this world's engine. */
export function handlerFor(rotor: E2ERotor): (body: unknown, delivery: Delivery) => Promise<unknown> {
  const handle = createRotationStepsHandler(() => Promise.resolve(rotor.engine));
  return (body, delivery) => handle(body, stepInvocation(delivery));
}

let counter = 0;

/** A unique Key Vault secret name with this prefix. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Date.now().toString(36)}`;
}

export interface ManagedSecret {
  readonly ref: SecretRef;
  readonly version: string;
  readonly initial: string;
}

/** Writes a secret as a user would: a value and the tags, nothing else. */
export async function writeManagedSecret(azure: AzureGround, name: string, initial: string, tags: Record<string, string>, contentType?: string): Promise<ManagedSecret> {
  const written = await azure.ground.client.setSecret(name, initial, { tags, ...(contentType === undefined ? {} : { contentType }) });
  return { ref: { vaultUrl: azure.ground.vaultUrl, name }, version: written.properties.version ?? '', initial };
}

/**
 * Starts a rotation (retrying a crashed start as Event Grid or an HTTP client
 * would) and delivers steps until the queue is dry; answers the record.
 */
export async function rotateThroughEngine(world: AzureWorld, secret: ManagedSecret, trigger: 'event' | 'manual' = 'manual'): Promise<Rotation> {
  const start: StartRotationResult = await untilNoCrash(async () => {
    const latest = await world.rotor.secretStore.getLatest(secret.ref);
    return world.rotor.engine.startRotation(secret.ref, trigger === 'event' ? { kind: 'event', version: latest.kind === 'found' ? latest.secret.version : secret.version } : { kind: 'manual' });
  });
  if (start.outcome !== 'started' && start.outcome !== 'duplicate') throw new Error(`rotation of ${secret.ref.name} did not start: ${start.outcome}`);
  const ended = async () => {
    const page = await world.ledger.listRotations(secret.ref);
    return page.items.length > 0 && page.items.every((r) => ['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped'].includes(r.status));
  };
  await world.transport.deliverAll(handlerFor(world.rotor), { until: ended });
  const page = await world.ledger.listRotations(secret.ref);
  const newest = [...page.items].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
  const record = newest === undefined ? undefined : await world.ledger.getRotation(newest.id);
  if (record === undefined) throw new Error(`no rotation of ${secret.ref.name} in the ledger`);
  return record.value;
}

/** Everything Rotor wrote outside Key Vault: log lines, ledger blobs, queue bodies, notifications. */
export async function everythingWritten(world: AzureWorld): Promise<string[]> {
  return [
    ...world.rotor.logs.map((r) => JSON.stringify(r)),
    ...(await world.rotor.ledgerBlobs()),
    ...(world.memoryLedger === undefined ? [] : [JSON.stringify(world.memoryLedger.rotations())]),
    ...world.transport.bodies(),
    ...world.rotor.notifier.sent.map((n) => JSON.stringify(n)),
  ];
}

/**
 * The engine's end state with ids replaced by roles (previous, promoted,
 * restored, ...), so two runs on different secrets compare equal exactly when
 * they did the same things. Provider state is added by each rotator's test.
 */
export async function engineSnapshot(azure: AzureGround, world: AzureWorld, secret: ManagedSecret): Promise<Record<string, unknown>> {
  const { client } = azure.ground;
  const page = await world.ledger.listRotations(secret.ref);
  expect(page.items, 'one rotation per run').toHaveLength(1);
  const rotation = (await world.ledger.getRotation(page.items[0]!.id))!.value;
  const role = (version: string): string => Object.entries(rotation.versions).find(([, v]) => v === version)?.[0] ?? (version === secret.version ? 'initial' : 'other');
  const versions = await versionsOf(client, secret.ref.name);
  const latest = await client.getSecret(secret.ref.name);
  const pending = await versionsOf(client, pendingSecretName(secret.ref.name));
  return {
    versions: [...versions].map(([id, v]) => `${role(id)}:${v.enabled ? 'enabled' : 'disabled'}`).sort(),
    latest: role(latest.properties.version ?? ''),
    latestHoldsInitial: latest.value === secret.initial,
    latestTags: Object.keys(latest.properties.tags ?? {}).sort(),
    pending: [...pending.values()].map((v) => (v.enabled ? 'enabled' : 'disabled')),
    status: rotation.status,
    steps: rotation.steps.map((s) => `${s.step}#${s.attempt}:${s.outcome}`),
    undo: rotation.undo.map((u) => u.action),
    locked: (await world.ledger.activeRotation(secret.ref)) !== undefined,
    notifications: [...new Set(world.rotor.notifier.sent.map((n) => n.type))].sort(),
    queue: world.transport.counters().waiting,
  };
}
