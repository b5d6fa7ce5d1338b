import { describe, expect, it } from 'vitest';
import { SecretStoreError, SecretStoreErrorCode } from '../../../src/keyvault/errors.js';
import { pendingRef } from '../../../src/rotation/pending.js';
import type { SecretStore, StepQueue } from '../../../src/rotation/ports.js';
import { RotatorError, RotatorErrorCode } from '../../../src/rotation/rotator-errors.js';
import { Strategy } from '../../../src/rotation/model.js';
import { createFakeProvider, createFakeWorld, FAKE_VAULT, type FakeWorld } from '../../helpers/fakes/index.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

const DAY = 86_400_000;
const secret = { vaultUrl: FAKE_VAULT, name: 'orders-api-key' };
const initial = 'initial-value-0123456789';
const health = 'https://orders.example/health';
const randomPolicy = { 'rotor-rotator': 'random', 'rotor-validity': 'P60D', 'rotor-grace': 'PT5M', 'rotor-health': health, team: 'orders' };

function seed(world: FakeWorld, tags: Record<string, string> = randomPolicy, value = initial): string {
  return world.store.seed(secret, { value, tags, contentType: 'text/plain', expiresOn: new Date(world.clock.now().getTime() + 10 * DAY) });
}

function onlyRotation(world: FakeWorld) {
  const rotations = world.ledger.rotations();
  expect(rotations).toHaveLength(1);
  return rotations[0]!;
}

describe('a random secret rotates end to end', () => {
  it('writes a new version with the policy carried forward, then disables the old one', async () => {
    // Prepare
    const world = createFakeWorld();
    const previous = seed(world);
    const startedAt = world.clock.now().getTime();

    // Act
    const start = await world.engine.startRotation(secret, { kind: 'manual', reason: 'test' });
    await world.drain();

    // Assess
    expect(start.outcome).toBe('started');
    const versions = world.store.versions(secret);
    expect(versions).toHaveLength(2);
    const [old, fresh] = versions;
    expect(old).toMatchObject({ version: previous, enabled: false });
    expect(fresh!.enabled).toBe(true);
    expect(fresh!.value).not.toBe(initial);
    expect(fresh!.value).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(fresh!.tags).toEqual({ ...randomPolicy, 'rotor-rotation': (start as { rotationId: string }).rotationId });
    expect(fresh!.contentType).toBe('text/plain');
    expect(fresh!.expiresOn!.getTime()).toBe(startedAt + 60 * DAY);
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Completed');
    // Nothing at a provider: no prepare step, promote generates and writes (one create).
    expect(rotation.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['begin:succeeded', 'promote:succeeded', 'nudge:succeeded', 'verify:succeeded', 'retire:succeeded']);
    expect(rotation.versions).toMatchObject({ previous, promoted: fresh!.version });
    const verify = rotation.steps.find((s) => s.step === 'verify')!;
    expect(Date.parse(verify.startedAt) - Date.parse(rotation.steps[2]!.endedAt)).toBe(5 * 60_000);
    expect(world.notifier.sent.map((n) => n.type)).toEqual(['Rotor.Rotation.Started', 'Rotor.Rotation.Completed']);
    expect(world.ledger.locks().size).toBe(0);
    expect(world.queue.pending).toHaveLength(0);
  });

  it('writes one version and no pending companion: with nothing at a provider there is nothing to keep between steps', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const writesBefore = world.store.calls.write;

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess: one create (the new version) and one update (the old one disabled)
    expect(world.store.versions(pendingRef(secret))).toHaveLength(0);
    expect(world.store.versions(secret)).toHaveLength(2);
    expect(world.store.calls.write - writesBefore).toBe(2);
  });

  it('keeps the pending value of a single rotation with a provider in a companion secret that is disabled when done, never as the live version', async () => {
    // Prepare
    const provider = createFakeProvider({ strategy: Strategy.Single, initial });
    const world = createFakeWorld({ rotators: [provider.rotator] });
    seed(world, { 'rotor-rotator': 'fake-single', 'rotor-grace': 'PT1M' });

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    expect(onlyRotation(world).status).toBe('Completed');
    const pending = world.store.versions(pendingRef(secret));
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ enabled: false, tags: { 'rotor-pending-for': secret.name } });
    expect(pending[0]!.tags['rotor-rotator']).toBeUndefined();
    expect(pending[0]!.value).toBe(world.store.versions(secret).at(-1)!.value);
  });

  it('leaves no secret value in logs, ledger, audit, messages or notifications', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();
    const second = await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain({ afterDelivery: ({ message }) => (message.body.step === 'promote' ? world.health.setHealthy(health, false) : undefined) });

    // Assess
    expect(second.outcome).toBe('started');
    expect(world.ledger.rotations().map((r) => r.status).sort()).toEqual(['Completed', 'RolledBack']);
    expect(new Set(world.store.allValues()).size).toBe(3);
    expectNoSecretIn(world.texts(), world.store.allValues());
  });
});

describe('health gate and rollback', () => {
  it('rolls back when the consumer is unhealthy after the change', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain({ afterDelivery: ({ message }) => (message.body.step === 'promote' ? world.health.setHealthy(health, false) : undefined) });

    // Assess
    const versions = world.store.versions(secret);
    expect(versions).toHaveLength(3);
    const [old, failed, restored] = versions;
    expect(restored).toMatchObject({ enabled: true, value: initial });
    expect(failed!.enabled).toBe(false);
    expect(old!.enabled).toBe(true);
    expect(restored!.tags).toMatchObject(randomPolicy);
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('503');
    expect(rotation.versions).toMatchObject({ promoted: failed!.version, restored: restored!.version });
    expect(rotation.steps.filter((s) => s.step === 'verify').map((s) => s.outcome)).toEqual(['retrying', 'retrying', 'retrying', 'retrying', 'failed']);
    expect(rotation.undo).toEqual([]);
    expect(world.store.versions(pendingRef(secret))).toHaveLength(0);
    expect(world.notifier.sent.at(-1)).toMatchObject({ type: 'Rotor.Rotation.RolledBack', status: 'RolledBack' });
    expect(world.ledger.locks().size).toBe(0);
  });

  it('sets the restored version to expire past the near-expiry horizon, so the next attempt is a day away (I7)', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });
    world.health.setHealthy(health, true);
    await world.drain({ afterDelivery: ({ message }) => (message.body.step === 'promote' ? world.health.setHealthy(health, false) : undefined) });

    // Assess
    const restored = world.store.versions(secret).at(-1)!;
    expect(restored.expiresOn!.getTime()).toBeGreaterThan(world.clock.now().getTime() + 30 * DAY);
  });

  it('aborts a rotation whose consumer is already unhealthy, writing nothing to the vault', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    world.health.setHealthy(health, false);

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    expect(world.store.calls.write).toBe(0);
    expect(world.store.versions(secret)).toHaveLength(1);
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Aborted');
    expect(rotation.reason).toContain('pre-flight');
    expect(world.notifier.sent.map((n) => n.type)).toEqual(['Rotor.Rotation.Aborted']);
    expect(world.ledger.locks().size).toBe(0);
  });
});

describe('triggers and exclusivity', () => {
  it('answers stale for an event about a version that is no longer the latest', async () => {
    // Prepare
    const world = createFakeWorld();
    const old = seed(world);
    seed(world);

    // Act
    const result = await world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version: old });

    // Assess
    expect(result).toMatchObject({ outcome: 'stale' });
    expect(world.ledger.rotations()).toHaveLength(0);
  });

  it('skips at begin when the secret changed between start and begin', async () => {
    // Prepare
    const world = createFakeWorld();
    const version = seed(world);
    await world.engine.startRotation(secret, { kind: 'event', version });
    seed(world);

    // Act
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Skipped');
    expect(rotation.reason).toContain('stale trigger');
    expect(world.ledger.locks().size).toBe(0);
  });

  it('refuses a manual start while a rotation is active, naming it', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const first = await world.engine.startRotation(secret, { kind: 'manual' });

    // Act
    const second = await world.engine.startRotation(secret, { kind: 'manual' });

    // Assess
    expect(second).toEqual({ outcome: 'busy', activeRotationId: (first as { rotationId: string }).rotationId });
  });

  it('starts one rotation from ten concurrent starts', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);

    // Act
    const results = await Promise.all(Array.from({ length: 10 }, () => world.engine.startRotation(secret, { kind: 'manual' })));
    await world.drain();

    // Assess
    expect(results.filter((r) => r.outcome === 'started')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'busy')).toHaveLength(9);
    expect(world.ledger.rotations()).toHaveLength(1);
    expect(world.store.versions(secret)).toHaveLength(2);
  });

  it('answers duplicate to the same event delivered twice', async () => {
    // Prepare
    const world = createFakeWorld();
    const version = seed(world);
    const trigger = { kind: 'event' as const, eventId: 'evt-1', version };

    // Act
    const first = await world.engine.startRotation(secret, trigger);
    const again = await world.engine.startRotation(secret, trigger);
    const sweep = await world.engine.startRotation(secret, { kind: 'sweep', version });

    // Assess
    expect(first.outcome).toBe('started');
    expect(again).toEqual({ outcome: 'duplicate', rotationId: (first as { rotationId: string }).rotationId });
    expect(sweep).toEqual(again);
  });

  it('breaks a lock left by a rotation that ended without releasing it', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const first = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    await world.drain();
    await world.ledger.acquireLock(secret, first.rotationId);

    // Act
    const second = await world.engine.startRotation(secret, { kind: 'manual' });

    // Assess
    expect(second.outcome).toBe('started');
  });

  it('records a rotation as created when it took the lock, never before the rotation it follows ended (I2 in the ledger)', async () => {
    // Found by the chaos suite: a start read the clock, then the rotation holding the lock ended
    // before the start took it over, and the new record's createdAt came before the old one's endedAt.
    let whileWaiting: (() => Promise<void>) | undefined;
    const world = createFakeWorld({
      wrapPorts: (ports) => ({
        ...ports,
        ledger: {
          ...ports.ledger,
          acquireLock: async (ref, rotationId) => {
            const finish = whileWaiting;
            whileWaiting = undefined;
            await finish?.();
            return ports.ledger.acquireLock(ref, rotationId);
          },
        },
      }),
    });
    seed(world);
    const first = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    whileWaiting = async () => {
      await world.drain();
      world.clock.advance(1_000);
    };

    const second = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };

    const records = world.ledger.rotations();
    const ended = records.find((r) => r.id === first.rotationId)!;
    const next = records.find((r) => r.id === second.rotationId)!;
    expect(ended.status).toBe('Completed');
    expect(Date.parse(next.createdAt)).toBeGreaterThanOrEqual(Date.parse(ended.endedAt!));
  });

  it.each([
    ['missing secret', undefined, { outcome: 'not-found' }],
    ['no policy tags', { team: 'orders' }, { outcome: 'not-managed' }],
  ])('answers %s without writing anything', async (_name, tags, expected) => {
    // Prepare
    const world = createFakeWorld();
    if (tags !== undefined) seed(world, tags);

    // Act
    const result = await world.engine.startRotation(secret, { kind: 'manual' });

    // Assess
    expect(result).toEqual(expected);
    expect(world.ledger.rotations()).toHaveLength(0);
  });

  it('answers invalid-policy naming the tag', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world, { ...randomPolicy, 'rotor-validity': 'P20D' });

    // Act
    const result = await world.engine.startRotation(secret, { kind: 'manual' });

    // Assess
    expect(result).toMatchObject({ outcome: 'invalid-policy', problems: [{ tag: 'rotor-validity' }] });
  });

  it('fails at begin, naming the tag, when the policy turned invalid after the start; nothing is written', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });
    seed(world, { ...randomPolicy, 'rotor-random-length': '3' });
    const writes = world.store.calls.write;

    // Act
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('rotor-random-length');
    expect(world.store.calls.write).toBe(writes);
    expect(world.notifier.sent.map((n) => n.type)).toEqual(['Rotor.Rotation.Failed']);
  });

  it('reports a dry run without writing anything', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);

    // Act
    const result = await world.engine.startRotation(secret, { kind: 'manual' }, { dryRun: true });

    // Assess
    expect(result).toMatchObject({ outcome: 'dry-run', report: { wouldRotate: true, rotator: 'random', strategy: 'single' } });
    // The path as the engine runs it: promote generates and writes the value; there is no prepare step.
    expect((result as { report: { summary: string } }).report.summary).toMatch(/^would promote: generate a new value and write it as the new version/);
    expect(world.ledger.rotations()).toHaveLength(0);
    expect(world.queue.pending).toHaveLength(0);
    expect(world.store.calls.write).toBe(0);
  });

  it('reports in a dry run that an unhealthy app would not be rotated', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    world.health.setHealthy(health, false);

    // Act
    const result = await world.engine.startRotation(secret, { kind: 'manual' }, { dryRun: true });

    // Assess
    expect(result).toMatchObject({ outcome: 'dry-run', report: { wouldRotate: false } });
    expect((result as { report: { summary: string } }).report.summary).toContain(health);
  });
});

describe('idempotence', () => {
  it('ends in the same state when every message is delivered a second time after it completed', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });

    // Act
    await world.drain({ redeliverAfterSuccess: true });

    // Assess
    expect(world.store.versions(secret)).toHaveLength(2);
    expect(world.store.versions(pendingRef(secret))).toHaveLength(0);
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps).toHaveLength(5);
    expect(world.queue.duplicatesDropped).toBeGreaterThan(0);
  });

  it('acknowledges a message for an ended rotation without effect', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    await world.drain();
    const writes = world.store.calls.write;

    // Act
    const handled = await world.engine.handleStep({ rotationId: start.rotationId, secret, step: 'prepare', attempt: 1 });

    // Assess
    expect(handled.result).toBe('already-ended');
    expect(world.store.calls.write).toBe(writes);
    expect(world.queue.pending).toHaveLength(0);
  });
});

describe('transient faults', () => {
  /** Fails the next `faults.left` vault calls with 429 or 503, alternately. */
  function flaky(store: SecretStore, faults: { left: number }): SecretStore {
    const fail = (): void => {
      if (faults.left <= 0) return;
      faults.left -= 1;
      const throttled = faults.left % 2 === 0;
      throw new SecretStoreError(throttled ? SecretStoreErrorCode.Throttled : SecretStoreErrorCode.Unavailable, 'injected', { statusCode: throttled ? 429 : 503 });
    };
    return {
      getLatest: async (ref) => (fail(), store.getLatest(ref)),
      getVersion: async (ref, v) => (fail(), store.getVersion(ref, v)),
      setSecret: async (ref, s) => (fail(), store.setSecret(ref, s)),
      setEnabled: async (ref, v, e) => (fail(), store.setEnabled(ref, v, e)),
      listVersions: (ref) => store.listVersions(ref),
      listSecrets: (url) => store.listSecrets(url),
    };
  }

  it('retries a throttled step as a scheduled message and records the retry', async () => {
    // Prepare
    const faults = { left: 0 };
    const world = createFakeWorld({ wrapPorts: (ports) => ({ ...ports, secretStore: flaky(ports.secretStore, faults) }) });
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });
    faults.left = 3;

    // Act
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Completed');
    const retried = rotation.steps.filter((s) => s.outcome === 'retrying');
    expect(retried.map((s) => s.error!.code).sort()).toEqual(['VaultThrottled', 'VaultThrottled', 'VaultUnavailable']);
    expect(world.store.versions(secret)).toHaveLength(2);
  });

  it("schedules a step Key Vault throttled for the throttle's notBefore, however often, without using up its attempts", async () => {
    // Prepare: promote's write is throttled 12 times (maxStepAttempts is 5), each time until 3 s from now
    const throttles = { left: 0 };
    const world = createFakeWorld({
      wrapPorts: (ports) => ({
        ...ports,
        secretStore: {
          ...ports.secretStore,
          setSecret: async (ref, s) => {
            if (throttles.left > 0 && !ref.name.endsWith('-rotor-pending')) {
              throttles.left -= 1;
              throw new SecretStoreError(SecretStoreErrorCode.Throttled, 'set: 429', { statusCode: 429, notBefore: new Date(world.clock.now().getTime() + 3_000) });
            }
            return ports.secretStore.setSecret(ref, s);
          },
        },
      }),
    });
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });
    throttles.left = 12;

    // Act
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Completed');
    const promotes = rotation.steps.filter((s) => s.step === 'promote');
    expect(promotes.map((s) => s.outcome)).toEqual([...Array<string>(12).fill('throttled'), 'succeeded']);
    expect(promotes[0]!.error).toEqual({ code: 'VaultThrottled', message: 'set: 429' });
    for (let i = 1; i < promotes.length; i += 1) expect(Date.parse(promotes[i]!.startedAt) - Date.parse(promotes[i - 1]!.endedAt)).toBe(3_000);
  });

  it("waits for the provider's Retry-After before retrying a throttled step", async () => {
    // Prepare
    const provider = createFakeProvider({ strategy: Strategy.Single, initial });
    const world = createFakeWorld({ rotators: [provider.rotator] });
    seed(world, { 'rotor-rotator': 'fake-single', 'rotor-grace': 'PT1M' });
    provider.failNext('apply', new RotatorError(RotatorErrorCode.ProviderThrottled, 'slow down', { retryAfterMs: 120_000 }), 1);
    await world.engine.startRotation(secret, { kind: 'manual' });

    // Act
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Completed');
    const [first, second] = rotation.steps.filter((s) => s.step === 'promote');
    expect(first!.outcome).toBe('retrying');
    expect(Date.parse(second!.startedAt) - Date.parse(first!.endedAt)).toBe(120_000);
  });

  it('rolls back when a step keeps failing transiently until its attempts run out', async () => {
    // Prepare
    const provider = createFakeProvider({ strategy: Strategy.Single, initial });
    const world = createFakeWorld({ rotators: [provider.rotator] });
    seed(world, { 'rotor-rotator': 'fake-single', 'rotor-grace': 'PT1M' });
    provider.failNext('apply', new RotatorError(RotatorErrorCode.ProviderUnavailable, 'provider down'), 100);

    // Act
    await world.engine.startRotation(secret, { kind: 'manual' });
    await world.drain();

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('RetriesExhausted');
    // promote writes the pending value, then applies it: every retry reuses the one pending version
    expect(rotation.steps.filter((s) => s.step === 'promote')).toHaveLength(5);
    expect(world.store.versions(pendingRef(secret))).toHaveLength(1);
    expect(provider.accepts(initial)).toBe(true);
    expect(world.store.versions(secret)).toHaveLength(1);
    expect(world.store.versions(pendingRef(secret))[0]!.enabled).toBe(false);
  });
});

describe('termination (I3) and the dead-letter path', () => {
  it('ends a rotation whose message comes after its deadline, rolling back what it changed', async () => {
    // Prepare
    const world = createFakeWorld({ settings: { rotationBudgetMs: 60_000 } });
    seed(world);
    await world.engine.startRotation(secret, { kind: 'manual' });

    // Act: the verify message arrives long after the deadline (an outage, a stuck queue)
    await world.drain({ afterDelivery: ({ message }) => (message.body.step === 'promote' ? world.clock.advance(2 * 3_600_000) : undefined) });

    // Assess
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('DeadlineExceeded');
    expect(world.store.versions(secret).at(-1)!.value).toBe(initial);
  });

  it('fails a rotation whose begin message was dead-lettered, releasing the lock', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };

    // Act
    const result = await world.engine.failRotation({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 }, 'MaxDeliveryCountExceeded');

    // Assess
    expect(result).toBe('failed');
    const rotation = onlyRotation(world);
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('MaxDeliveryCountExceeded');
    expect(world.ledger.locks().size).toBe(0);
    expect(world.notifier.sent.map((n) => n.type)).toEqual(['Rotor.Rotation.Failed']);
  });

  it('rolls back a rotation whose promote message was dead-lettered', async () => {
    // Prepare
    const world = createFakeWorld();
    seed(world);
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    let promote: Parameters<typeof world.engine.failRotation>[0] | undefined;
    await world.drain({
      afterDelivery: ({ message }) => {
        if (message.body.step === 'begin') {
          promote = world.queue.pending.find((m) => m.body.step === 'promote')?.body;
          world.queue.pending.splice(0);
        }
      },
    });

    // Act
    const result = await world.engine.failRotation(promote!, 'MaxDeliveryCountExceeded');
    const ignored = await world.engine.failRotation({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 }, 'late');
    await world.drain();

    // Assess
    expect(result).toBe('rolling-back');
    expect(ignored).toBe('ignored');
    expect(onlyRotation(world).status).toBe('RolledBack');
    expect(world.store.versions(secret).at(-1)!.value).toBe(initial);
  });

  it('resumes a rotation whose next message was never sent (a crash after the ledger write)', async () => {
    // Prepare
    const world = createFakeWorld({ wrapPorts: (ports) => ({ ...ports, stepQueue: losing(ports.stepQueue, 'promote') }) });
    seed(world);
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    await world.drain();
    expect(onlyRotation(world)).toMatchObject({ status: 'Running', step: 'promote' });

    // Act
    const resumed = await world.engine.resumeRotation(start.rotationId);
    await world.drain();

    // Assess
    expect(resumed).toBe('resent');
    expect(onlyRotation(world).status).toBe('Completed');
    expect(await world.engine.resumeRotation(start.rotationId)).toBe('ended');
    expect(await world.engine.resumeRotation('unknown')).toBe('not-found');
  });

  it('re-sends begin when a start crashed after recording the rotation (a duplicate trigger heals it)', async () => {
    // Prepare
    const world = createFakeWorld({ wrapPorts: (ports) => ({ ...ports, stepQueue: losing(ports.stepQueue, 'begin') }) });
    const version = seed(world);
    await world.engine.startRotation(secret, { kind: 'event', version });
    expect(world.queue.pending).toHaveLength(0);

    // Act
    const again = await world.engine.startRotation(secret, { kind: 'event', version });
    await world.drain();

    // Assess
    expect(again.outcome).toBe('duplicate');
    expect(onlyRotation(world).status).toBe('Completed');
  });
});

/** A queue whose first send of `step` never happens, as if the process died just before it. */
function losing(queue: StepQueue, step: string): StepQueue {
  let lost = false;
  return {
    sendStep: (message, options) => {
      if (!lost && message.step === step) {
        lost = true;
        return Promise.resolve();
      }
      return queue.sendStep(message, options);
    },
  };
}

describe('notifications on redelivery', () => {
  it('does not announce Started for a redelivered begin that only scheduled a retry', async () => {
    // Prepare
    const faults = { left: 0 };
    const world = createFakeWorld({
      wrapPorts: (ports) => ({
        ...ports,
        secretStore: {
          ...ports.secretStore,
          getLatest: async (ref) => {
            if (faults.left > 0) {
              faults.left -= 1;
              throw new SecretStoreError(SecretStoreErrorCode.Throttled, 'injected', { statusCode: 429 });
            }
            return ports.secretStore.getLatest(ref);
          },
        },
      }),
    });
    seed(world);
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    faults.left = 1;

    // Act: begin #1 fails transiently, then the same message is delivered again
    await world.engine.handleStep({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 });
    const again = await world.engine.handleStep({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 });

    // Assess
    expect(again.result).toBe('stale');
    expect(world.notifier.sent).toEqual([]);
  });
});
