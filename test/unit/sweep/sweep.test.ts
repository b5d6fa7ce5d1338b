import { describe, expect, it } from 'vitest';
import { runSweep } from '../../../src/sweep/sweep.js';
import { createFakeWaysIn, derivedRotationId, secretInfo, seedRotation, TEST_VAULT } from '../../helpers/ways-in-fakes.js';

const managed = { 'rotor-rotator': 'random' };
const NOW = '2026-11-22T10:00:00Z';

describe('runSweep', () => {
  it('starts managed secrets due within the horizon, keyed by their version, and nothing else', async () => {
    // Prepare
    const { services, calls } = createFakeWaysIn({
      now: NOW,
      secrets: [
        secretInfo('due-by-expiry', 'a1', { tags: managed, expiresOn: '2026-12-10T00:00:00Z' }),
        secretInfo('not-yet', 'b1', { tags: managed, expiresOn: '2027-06-01T00:00:00Z' }),
        secretInfo('due-by-interval', 'c1', { tags: { ...managed, 'rotor-validity': 'P60D' }, createdOn: '2026-09-01T00:00:00Z' }),
        secretInfo('unmanaged-expiring', 'd1', { expiresOn: '2026-11-23T00:00:00Z' }),
        secretInfo('disabled', 'e1', { tags: managed, expiresOn: '2026-11-23T00:00:00Z', enabled: false }),
        secretInfo('no-dates', 'f1', { tags: managed }),
      ],
    });

    // Act
    const report = await runSweep(services);

    // Assess
    expect(calls.map((c) => c.secret.name)).toEqual(['due-by-expiry', 'due-by-interval']);
    expect(calls[0]?.trigger).toEqual({ kind: 'sweep', version: 'a1' });
    expect(report).toMatchObject({ scanned: 6, managed: 5, errors: [] });
    expect(report.started).toEqual([derivedRotationId({ vaultUrl: TEST_VAULT, name: 'due-by-expiry' }, 'a1'), derivedRotationId({ vaultUrl: TEST_VAULT, name: 'due-by-interval' }, 'c1')]);
  });

  it('starts the same rotation the missed event would have, so an event arriving later is a duplicate', async () => {
    const { services } = createFakeWaysIn({ now: NOW, secrets: [secretInfo('db', 'a1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' })] });

    const [first] = (await runSweep(services)).started;
    const event = await services.startRotation({ vaultUrl: TEST_VAULT, name: 'db' }, { kind: 'event', version: 'a1' });

    expect(event).toEqual({ outcome: 'duplicate', rotationId: first });
  });

  it('leaves a secret with an active rotation within its deadline alone', async () => {
    const { services, ledger, calls } = createFakeWaysIn({ now: NOW, secrets: [secretInfo('db', 'a1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' })] });
    await seedRotation(ledger, { id: 'r-live', secret: { vaultUrl: TEST_VAULT, name: 'db' }, deadline: '2026-11-22T11:00:00Z' });

    const report = await runSweep(services);

    expect(calls).toHaveLength(0);
    expect(report.recovered).toEqual([]);
  });

  it.each([
    ['not promoted: Failed', { step: 'prepare' as const }, 'failed', 'Failed'],
    ['promoted: rolled back', { step: 'verify' as const, versions: { previous: 'v1', promoted: 'v2' } }, 'rolling-back', 'RollingBack'],
    ['rolling back shortly past the deadline: resumed', { status: 'RollingBack' as const, step: 'rollback' as const, deadline: '2026-11-22T09:30:00Z' }, 'resumed', 'RollingBack'],
    ['rolling back long past the deadline: Failed', { status: 'RollingBack' as const, step: 'rollback' as const, deadline: '2026-11-22T07:00:00Z' }, 'failed', 'Failed'],
  ])('ends or resumes a rotation past its deadline (%s)', async (_case, overrides, outcome, status) => {
    const secret = { vaultUrl: TEST_VAULT, name: 'db' };
    const { services, ledger } = createFakeWaysIn({ now: NOW, secrets: [secretInfo('db', 'a1', { tags: managed })] });
    await seedRotation(ledger, { id: 'r-stuck', secret, ...overrides });

    const report = await runSweep(services);

    expect(report.recovered).toEqual([{ rotationId: 'r-stuck', outcome }]);
    expect(ledger.rotations.get('r-stuck')?.value.status).toBe(status);
  });

  it('reports a secret it could not handle and carries on with the rest', async () => {
    const { services } = createFakeWaysIn({
      now: NOW,
      secrets: [secretInfo('first', 'a1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' }), secretInfo('second', 'b1', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' })],
    });
    let calls = 0;
    const flaky = { ...services, startRotation: (...args: Parameters<typeof services.startRotation>) => (++calls === 1 ? Promise.reject(new Error('queue down')) : services.startRotation(...args)) };

    const report = await runSweep(flaky);

    expect(report.errors).toEqual([{ secret: 'sample-kv.vault.azure.net/first', message: 'queue down' }]);
    expect(report.started).toHaveLength(1);
  });
});
