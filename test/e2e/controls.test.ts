import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSweep } from '../../src/sweep/sweep.js';
import { createControlsHarness, uniqueName } from '../helpers/controls-harness.js';
import { startE2EGround, type E2EGround } from '../helpers/e2e-stack.js';

/**
 * Windows, pause and cancel end to end on the Key Vault emulator (its real
 * throttle on) and Azurite, on the engine's in-memory queue with real time
 * plus jumps (see controls-harness.ts). The incident batch at size is in
 * test/load/ (`npm run test:load`).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let ground: E2EGround;

beforeAll(async () => {
  ground = await startE2EGround();
  ground.kv.admin.throttle.configure({}); // Key Vault's limits: 300 creates and 4,000 other calls per 10 s
}, 120_000);

afterAll(async () => {
  await ground?.stop();
});

describe('a maintenance window', () => {
  it('an event that arrives outside the window starts its rotation when the window opens', async () => {
    // Prepare: a window that opens three hours from now, for one hour
    const h = await createControlsHarness(ground);
    const opensAt = new Date(Math.ceil((h.clock.now().getTime() + 3 * HOUR) / HOUR) * HOUR);
    const name = uniqueName('windowed');
    const written = await ground.client.setSecret(name, 'initial-windowed-value', {
      tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S', 'rotor-window': `0 ${opensAt.getUTCHours()} * * * PT1H` },
      expiresOn: new Date(h.clock.now().getTime() + 10 * DAY),
    });
    const secret = { vaultUrl: ground.vaultUrl, name };

    // Act: the near-expiry event arrives now
    const started = await h.services.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version: written.properties.version! });
    const beforeOpening = started.outcome === 'started' ? await h.rotor.ledger.getRotation(started.rotationId) : undefined;
    await h.drain();

    // Assess
    expect(started).toMatchObject({ outcome: 'started', startAt: opensAt.toISOString() });
    expect(beforeOpening?.value).toMatchObject({ status: 'Running', step: 'begin', notBefore: opensAt.toISOString() });
    const rotation = (await h.rotor.ledger.getRotation(started.outcome === 'started' ? started.rotationId : ''))!.value;
    expect(rotation.status).toBe('Completed');
    expect(Date.parse(rotation.steps[0]!.startedAt)).toBeGreaterThanOrEqual(opensAt.getTime());
    expect((await ground.client.getSecret(name)).value).not.toBe('initial-windowed-value');
  });
});

describe('a paused secret', () => {
  it('is not rotated by an event or by the sweep; a manual start needs force', async () => {
    const h = await createControlsHarness(ground);
    const name = uniqueName('paused');
    const written = await ground.client.setSecret(name, 'initial-paused-value', {
      tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S', 'rotor-paused': 'true' },
      expiresOn: new Date(h.clock.now().getTime() + 5 * DAY),
    });
    const secret = { vaultUrl: ground.vaultUrl, name };

    const byEvent = await h.services.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version: written.properties.version! });
    const sweep = await runSweep(h.services);
    const manual = await h.services.startRotation(secret, { kind: 'manual' });
    await h.drain();

    expect(byEvent).toEqual({ outcome: 'paused' });
    expect(manual).toEqual({ outcome: 'paused' });
    expect(sweep.started).toEqual([]);
    expect((await h.rotor.ledger.listRotations(secret)).items).toEqual([]);
    expect((await ground.client.getSecret(name)).value).toBe('initial-paused-value');

    const forced = await h.services.startRotation(secret, { kind: 'manual', reason: 'drill' }, { force: true });
    await h.drain();
    expect(forced.outcome).toBe('started');
    expect((await ground.client.getSecret(name)).value).not.toBe('initial-paused-value');
  });
});

describe('cancel', () => {
  // random has no prepare step (nothing at a provider); cancel at prepare is in test/unit/rotation/cancel.test.ts.
  it.each([
    ['begin', 'Cancelled', 'initial'],
    ['promote', 'Cancelled', 'initial'],
    ['verify', 'RolledBack', 'initial'],
    ['retire', 'Completed', 'new'],
  ] as const)('at %s ends %s, the vault serving the %s value', async (at, status, value) => {
    // Prepare
    const h = await createControlsHarness(ground);
    const name = uniqueName(`cancel-${at}`);
    await ground.client.setSecret(name, 'initial-cancel-value', { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT5M' } });
    const secret = { vaultUrl: ground.vaultUrl, name };
    const started = await h.services.startRotation(secret, { kind: 'manual' });
    const rotationId = started.outcome === 'started' ? started.rotationId : '';
    let answer: unknown;
    const cancelIfAt = async (): Promise<void> => {
      const record = await h.rotor.ledger.getRotation(rotationId);
      if (answer !== undefined || record?.value.step !== at) return;
      answer = await h.rotor.engine.cancelRotation(rotationId, { reason: 'wrong secret' });
    };

    // Act
    await cancelIfAt();
    await h.drain(cancelIfAt);

    // Assess
    const rotation = (await h.rotor.ledger.getRotation(rotationId))!.value;
    expect(answer).toEqual(at === 'retire' ? { outcome: 'verified', step: 'retire' } : { outcome: 'cancelling', rotationId, via: at === 'verify' ? 'rollback' : 'undo' });
    expect(rotation.status).toBe(status);
    const latest = (await ground.client.getSecret(name)).value;
    expect(value === 'initial' ? latest === 'initial-cancel-value' : latest !== 'initial-cancel-value').toBe(true);
    expect(await h.rotor.ledger.activeRotation(secret)).toBeUndefined();
    if (status === 'Cancelled') expect(h.rotor.notifier.sent.map((n) => n.type)).toContain('Rotor.Rotation.Cancelled');
  });
});
