import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobPacingStore } from '../../../src/pacing/blob-pacing-store.js';
import { createVaultPacer } from '../../../src/pacing/vault-pacer.js';
import { startAzuriteBlob, type AzuriteBlob } from '../../helpers/azurite.js';

let azurite: AzuriteBlob;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
});

afterAll(async () => {
  await azurite.stop();
});

async function freshStore() {
  const container = azurite.client().getContainerClient(`pacing-${randomBytes(6).toString('hex')}`);
  await container.create();
  return createBlobPacingStore(container);
}

describe('pacing records on Azurite', () => {
  it('refuses a write over a record that changed since it was read', async () => {
    const store = await freshStore();
    const state = { rate: 1, rateAt: 0, slots: {} };

    expect(await store.write('kv.example', state, undefined)).toBe(true);
    const read = await store.read('kv.example');
    expect(await store.write('kv.example', { ...state, rate: 0.5 }, read!.etag)).toBe(true);

    expect(await store.write('kv.example', state, read!.etag)).toBe(false);
    expect(await store.write('kv.example', state, undefined)).toBe(false);
    expect((await store.read('kv.example'))?.state.rate).toBe(0.5);
  });

  it('lets instances claiming at once share one slot without exceeding it', async () => {
    // Prepare: four instances, a slot of 27 creates, all asking at the same moment.
    const store = await freshStore();
    const clock = { now: () => new Date('2026-12-04T22:00:00.500Z') };
    const pacers = [0, 1, 2, 3].map(() => createVaultPacer({ store, clock }));

    // Act
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => pacers[i % 4]!.take('https://kv.example', 'create').catch((e: unknown) => e)));

    // Assess: the claims written never add up to more than the slot.
    const record = await store.read('kv.example');
    const claimed = Object.values(record!.state.slots).reduce((sum, s) => sum + s.create, 0);
    expect(claimed).toBeLessThanOrEqual(27);
    expect(answers.filter((a) => (a as { granted?: boolean }).granted === true).length).toBeLessThanOrEqual(claimed);
  });
});
