import { describe, expect, it } from 'vitest';
import { createMemoryPacingStore, createVaultPacer, keyVaultSecretLimits, SLOT_MS, WINDOW_MS, type VaultPacer } from '../../../src/pacing/vault-pacer.js';

const VAULT = 'https://kv-one.vault.azure.net';
const START = Date.parse('2026-12-04T22:00:00.000Z');

function fakeClock(startMs = START) {
  let now = startMs;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms), get ms() { return now; } };
}

/** Asks for `perSlot` calls every 100 ms over `ms`; returns the times of the calls granted. */
async function drive(pacers: readonly VaultPacer[], clock: ReturnType<typeof fakeClock>, bucket: 'create' | 'other', askedPer100ms: number, ms: number): Promise<number[]> {
  const granted: number[] = [];
  for (let t = 0; t < ms; t += 100) {
    for (let i = 0; i < askedPer100ms; i += 1) {
      const pacer = pacers[i % pacers.length]!;
      if ((await pacer.take(VAULT, bucket)).granted) granted.push(clock.ms);
    }
    clock.advance(100);
  }
  return granted;
}

function mostInAnyWindow(times: readonly number[]): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last += 1) {
    while (times[last]! - times[first]! >= WINDOW_MS) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('vault pacer', () => {
  it('keeps creates at 90% of the limit under a demand far above it, never over the limit in any 10-s window', async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = createVaultPacer({ store: createMemoryPacingStore(), clock });

    // Act: 100 creates asked per 100 ms for a minute.
    const granted = await drive([pacer], clock, 'create', 100, 60_000);

    // Assess
    expect(mostInAnyWindow(granted)).toBeLessThanOrEqual(keyVaultSecretLimits.create);
    expect(granted.length / 6).toBeGreaterThanOrEqual(0.9 * keyVaultSecretLimits.create - 1);
  });

  it('shares one budget between instances through the store', async () => {
    // Prepare: three instances, one record.
    const clock = fakeClock();
    const store = createMemoryPacingStore();
    const pacers = [0, 1, 2].map(() => createVaultPacer({ store, clock }));

    // Act
    const granted = await drive(pacers, clock, 'create', 90, 30_000);

    // Assess
    expect(mostInAnyWindow(granted)).toBeLessThanOrEqual(keyVaultSecretLimits.create);
    expect(granted.length / 3).toBeGreaterThanOrEqual(0.85 * keyVaultSecretLimits.create);
  });

  it('claims a share of a slot per shared write, not one write per call', async () => {
    const clock = fakeClock();
    const store = createMemoryPacingStore();
    const pacer = createVaultPacer({ store, clock });

    const granted = await drive([pacer], clock, 'other', 50, 10_000);

    expect(granted.length).toBeGreaterThan(3_000);
    expect(store.writes).toBeLessThan(granted.length / 20);
  });

  it('tells a caller the slot to come back in, spreading callers over later slots', async () => {
    // Prepare: a vault shared with applications, Rotor may use 10% of it (3 creates a slot).
    const clock = fakeClock();
    const pacer = createVaultPacer({ store: createMemoryPacingStore(), clock, targetFor: () => 0.1 });
    const answers = [];

    // Act
    for (let i = 0; i < 9; i += 1) answers.push(await pacer.take(VAULT, 'create'));

    // Assess
    expect(answers.filter((a) => a.granted)).toHaveLength(3);
    const later = answers.flatMap((a) => (a.granted ? [] : [a.notBefore.getTime() - START]));
    expect(later).toEqual([SLOT_MS, SLOT_MS, SLOT_MS, 2 * SLOT_MS, 2 * SLOT_MS, 2 * SLOT_MS]);
  });

  it('halves the rate on a 429 for every instance, then regains a tenth per quiet window', async () => {
    // Prepare
    const clock = fakeClock();
    const store = createMemoryPacingStore();
    const one = createVaultPacer({ store, clock });
    const other = createVaultPacer({ store, clock });

    // Act: a burst of 429s within one slot halves once; the next slot's halves again
    await one.throttled(VAULT);
    await other.throttled(VAULT);
    await one.throttled(VAULT);
    const afterBurst = await other.rateOf(VAULT);
    clock.advance(SLOT_MS);
    await one.throttled(VAULT);
    const afterTwo = await other.rateOf(VAULT);
    clock.advance(WINDOW_MS);
    const oneWindowLater = await other.rateOf(VAULT);
    clock.advance(20 * WINDOW_MS);
    const muchLater = await other.rateOf(VAULT);

    // Assess
    expect(afterBurst).toBeCloseTo(0.5);
    expect(afterTwo).toBeCloseTo(0.25);
    expect(oneWindowLater).toBeCloseTo(0.35);
    expect(muchLater).toBe(1);
  });

  it('serves concurrent callers from one shared claim instead of racing on the record', async () => {
    // Prepare
    const clock = fakeClock();
    const store = createMemoryPacingStore();
    const pacer = createVaultPacer({ store, clock });

    // Act: 32 callers at once; a claim takes a quarter of the slot (90 other calls)
    const answers = await Promise.all(Array.from({ length: 32 }, () => pacer.take(VAULT, 'other')));

    // Assess
    expect(answers.every((a) => a.granted)).toBe(true);
    expect(store.writes).toBe(1);
  });

  it('grants fewer calls per slot while the rate is down', async () => {
    const clock = fakeClock();
    const pacer = createVaultPacer({ store: createMemoryPacingStore(), clock });
    await pacer.throttled(VAULT);
    clock.advance(SLOT_MS);

    const granted = await drive([pacer], clock, 'create', 100, 1_000);

    expect(granted.length).toBe(Math.floor((300 * 0.9 * 0.5) / 10));
  });
});
