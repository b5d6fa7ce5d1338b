import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRotationStepsHandler } from '../../functions/rotationSteps.js';
import { InvocationContext } from '@azure/functions';
import { pendingSecretName } from '../../src/rotation/pending.js';
import type { Rotation } from '../../src/rotation/model.js';
import type { StartRotationResult } from '../../src/rotation/start-types.js';
import { createE2ERotor, startE2EGround, versionsOf, type E2EGround, type E2ERotor } from '../helpers/e2e-stack.js';
import { memoryTransport, startServiceBusTransport, type StepTransport } from '../helpers/e2e-transport.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

const DAY = 86_400_000;
let ground: E2EGround;
let counter = 0;

beforeAll(async () => {
  ground = await startE2EGround();
});

afterAll(async () => {
  await ground.stop();
});

/** Each transport with the grace period that suits its clock: virtual time in memory, real time on Service Bus. */
const transports: readonly { readonly name: string; readonly grace: string; readonly graceMs: number; readonly create: () => Promise<StepTransport> }[] = [
  { name: 'Service Bus emulator, real time', grace: 'PT1S', graceMs: 1_000, create: () => startServiceBusTransport() },
  { name: 'in-memory queue, virtual time', grace: 'PT2M', graceMs: 120_000, create: () => Promise.resolve(memoryTransport()) },
];

describe.each(transports)('a rotation end to end (Key Vault emulator, Azurite, the exported step handler, $name)', ({ grace, graceMs, create }) => {
  let transport: StepTransport;
  let rotor: E2ERotor;

  beforeAll(async () => {
    transport = await create();
    rotor = await createE2ERotor(ground, { stepQueue: transport.stepQueue, clock: transport.clock });
  });

  afterAll(async () => {
    await transport.stop();
  });

  afterEach(() => {
    // Every rotation ended: nothing may be left waiting, nothing dead-lettered.
    expect(transport.counters()).toMatchObject({ waiting: 0, deadLettered: 0 });
  });

  /** The exported function handler, as the host calls it, over this test's engine. */
  const handler = (): ((body: unknown) => Promise<unknown>) => {
    const handle = createRotationStepsHandler(() => Promise.resolve(rotor.engine));
    const context = new InvocationContext({ functionName: 'rotationSteps', logHandler: () => undefined });
    return (body) => handle(body, context);
  };

  async function managedSecret(tags: Record<string, string> = {}, prefix = 'e2e'): Promise<{ name: string; ref: { vaultUrl: string; name: string }; version: string; initial: string }> {
    counter += 1;
    const name = `${prefix}-${counter}-${Date.now().toString(36)}`;
    const initial = `initial-${name}-0123456789`;
    const written = await ground.client.setSecret(name, initial, {
      tags: { 'rotor-rotator': 'random', 'rotor-validity': 'P60D', 'rotor-grace': grace, 'rotor-health': ground.consumer.healthUrl(name), owner: 'orders', ...tags },
      contentType: 'text/plain',
      expiresOn: new Date(transport.clock.now().getTime() + 20 * DAY),
    });
    return { name, ref: { vaultUrl: ground.vaultUrl, name }, version: written.properties.version ?? '', initial };
  }

  async function rotationOf(id: string): Promise<Rotation> {
    const record = await rotor.ledger.getRotation(id);
    if (record === undefined) throw new Error(`rotation ${id} not in the ledger`);
    return record.value;
  }

  async function ended(...ids: string[]): Promise<boolean> {
    const records = await Promise.all(ids.map((id) => rotor.ledger.getRotation(id)));
    return records.every((r) => r !== undefined && ['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped'].includes(r.value.status));
  }

  const idOf = (result: StartRotationResult): string => (result as { rotationId: string }).rotationId;

  async function everythingWritten(): Promise<string[]> {
    return [...rotor.logs.map((r) => JSON.stringify(r)), ...(await rotor.ledgerBlobs()), ...transport.bodies(), ...rotor.notifier.sent.map((n) => JSON.stringify(n))];
  }

    it('rotates a managed secret: policy carried forward, exp = now + validity, old version disabled after verify', async () => {
      // Prepare
      const secret = await managedSecret();
      const startedAt = transport.clock.now().getTime();

      // Act
      const start = await rotor.engine.startRotation(secret.ref, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version: secret.version });
      await transport.deliverAll(handler(), { until: () => ended(idOf(start)) });

      // Assess
      expect(start.outcome).toBe('started');
      const rotation = await rotationOf((start as { rotationId: string }).rotationId);
      expect(rotation.status).toBe('Completed');
      // random has nothing at a provider: no prepare step, promote generates and writes the value (one create).
      expect(rotation.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['begin:succeeded', 'promote:succeeded', 'nudge:succeeded', 'verify:succeeded', 'retire:succeeded']);
      for (const step of rotation.steps) expect(Date.parse(step.endedAt)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
      const latest = await ground.client.getSecret(secret.name);
      expect(latest.properties.version).toBe(rotation.versions.promoted);
      expect(latest.value).not.toBe(secret.initial);
      expect(latest.properties.tags).toEqual({
        'rotor-rotator': 'random',
        'rotor-validity': 'P60D',
        'rotor-grace': grace,
        'rotor-health': ground.consumer.healthUrl(secret.name),
        owner: 'orders',
        'rotor-rotation': rotation.id,
      });
      expect(latest.properties.contentType).toBe('text/plain');
      // exp = now + validity, where "now" is some moment between the start and the end of promote
      // (Key Vault keeps whole seconds); bounded by the record, not by how fast the machine is.
      const promoted = rotation.steps.find((s) => s.step === 'promote')!;
      const expiresAt = latest.properties.expiresOn!.getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(startedAt + 60 * DAY - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.parse(promoted.endedAt) + 60 * DAY);
      const versions = await versionsOf(ground.client, secret.name);
      expect(versions.size).toBe(2);
      expect(versions.get(secret.version)?.enabled).toBe(false);
      const verify = rotation.steps.find((s) => s.step === 'verify')!;
      expect(Date.parse(verify.startedAt) - Date.parse(rotation.steps[2]!.endedAt)).toBeGreaterThanOrEqual(graceMs);
      expect(rotor.notifier.sent.filter((n) => n.rotationId === rotation.id).map((n) => n.type)).toEqual(['Rotor.Rotation.Started', 'Rotor.Rotation.Completed']);
      expectNoSecretIn(await everythingWritten(), [secret.initial, latest.value!]);
    });

    it('rolls back when the consumer fails after the change: old value latest again, failed version disabled', async () => {
      // Prepare
      const secret = await managedSecret();
      ground.consumer.accept(secret.name, (value) => value === secret.initial);

      // Act
      const start = await rotor.engine.startRotation(secret.ref, { kind: 'manual', reason: 'e2e' });
      await transport.deliverAll(handler(), { until: () => ended(idOf(start)) });

      // Assess
      const rotation = await rotationOf((start as { rotationId: string }).rotationId);
      expect(rotation.status).toBe('RolledBack');
      expect(rotation.reason).toContain('503');
      const latest = await ground.client.getSecret(secret.name);
      expect(latest.value).toBe(secret.initial);
      expect(latest.properties.version).toBe(rotation.versions.restored);
      expect(latest.properties.tags).toMatchObject({ 'rotor-rotator': 'random', owner: 'orders' });
      const versions = await versionsOf(ground.client, secret.name);
      expect(versions.get(rotation.versions.promoted!)?.enabled).toBe(false);
      expect(versions.size).toBe(3);
      expect(rotor.notifier.sent.at(-1)).toMatchObject({ type: 'Rotor.Rotation.RolledBack', rotationId: rotation.id });
      expectNoSecretIn(await everythingWritten(), [secret.initial]);
    });

    it('aborts when the app is already unhealthy, writing nothing to the vault', async () => {
      // Prepare
      const secret = await managedSecret();
      ground.consumer.accept(secret.name, 'never');
      ground.kv.admin.resetCounters();

      // Act
      const start = await rotor.engine.startRotation(secret.ref, { kind: 'manual' });
      await transport.deliverAll(handler(), { until: () => ended(idOf(start)) });

      // Assess
      const rotation = await rotationOf((start as { rotationId: string }).rotationId);
      expect(rotation.status).toBe('Aborted');
      expect(ground.kv.admin.counters().operations.set?.calls ?? 0).toBe(0);
      expect(ground.kv.admin.counters().operations.update?.calls ?? 0).toBe(0);
      expect((await versionsOf(ground.client, secret.name)).size).toBe(1);
    });

    it('skips a stale trigger: an event for a version that is no longer the latest', async () => {
      // Prepare
      const secret = await managedSecret();
      const start = await rotor.engine.startRotation(secret.ref, { kind: 'event', version: secret.version });
      await ground.client.setSecret(secret.name, `${secret.initial}-by-hand`, { tags: { 'rotor-rotator': 'random' } });

      // Act
      await transport.deliverAll(handler(), { until: () => ended(idOf(start)) });
      const late = await rotor.engine.startRotation(secret.ref, { kind: 'event', version: secret.version });

      // Assess
      expect((await rotationOf((start as { rotationId: string }).rotationId)).status).toBe('Skipped');
      expect(late.outcome).toBe('stale');
    });

    it('refuses a manual start while a rotation is active, and starts one rotation from ten concurrent starts', async () => {
      // Prepare
      const secret = await managedSecret();

      // Act
      const results = await Promise.all(Array.from({ length: 10 }, () => rotor.engine.startRotation(secret.ref, { kind: 'manual' })));
      const whileActive = await rotor.engine.startRotation(secret.ref, { kind: 'manual' });
      await transport.deliverAll(handler(), { until: () => ended(...results.filter((r) => r.outcome === 'started').map(idOf)) });

      // Assess
      const started = results.filter((r) => r.outcome === 'started');
      expect(started).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'busy')).toHaveLength(9);
      expect(whileActive).toEqual({ outcome: 'busy', activeRotationId: (started[0] as { rotationId: string }).rotationId });
      const history = await rotor.ledger.listRotations(secret.ref);
      expect(history.items).toHaveLength(1);
      expect((await versionsOf(ground.client, secret.name)).size).toBe(2);
    });

    it('ends in the same state when every message is delivered again after it completed', async () => {
      // Prepare
      const secret = await managedSecret();

      // Act
      const start = await rotor.engine.startRotation(secret.ref, { kind: 'manual' });
      await transport.deliverAll(handler(), { until: () => ended(idOf(start)), redeliverAfterSuccess: true });

      // Assess
      const rotation = await rotationOf((start as { rotationId: string }).rotationId);
      expect(rotation.status).toBe('Completed');
      expect(rotation.steps).toHaveLength(5);
      expect((await versionsOf(ground.client, secret.name)).size).toBe(2);
      expect((await versionsOf(ground.client, pendingSecretName(secret.name))).size).toBe(0);
    });
});
