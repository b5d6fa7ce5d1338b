import { describe, expect, it } from 'vitest';
import { isSecretStoreError, SecretStoreError, SecretStoreErrorCode } from '../../../src/keyvault/errors.js';
import { createPacedSecretStore, waitingOutThrottle } from '../../../src/keyvault/paced-secret-store.js';
import { PacingError, PacingErrorCode } from '../../../src/pacing/errors.js';
import { parsePacingTargets, targetFor } from '../../../src/pacing/targets.js';
import { createMemoryPacingStore, createVaultPacer, SLOT_MS, type PacingStore } from '../../../src/pacing/vault-pacer.js';
import type { SecretStore } from '../../../src/rotation/ports.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeClock } from '../../helpers/fakes/clock.js';
import { createFakeSecretStore } from '../../helpers/fakes/secret-store.js';

const VAULT = 'https://kv-one.vault.azure.net';
const ref = { vaultUrl: VAULT, name: 'api-key' };
const START = Date.parse('2026-12-05T01:00:00.000Z');

function world(options: { target?: number; store?: PacingStore } = {}) {
  const clock = createFakeClock(START);
  const inner = createFakeSecretStore({ now: () => clock.now() });
  inner.seed(ref, { value: 'paced-value-1' });
  const pacer = createVaultPacer({ store: options.store ?? createMemoryPacingStore(), clock, ...(options.target === undefined ? {} : { targetFor: () => options.target! }) });
  const store = createPacedSecretStore(inner, { pacer, clock });
  return { clock, inner, pacer, store };
}

async function outcomeOf(call: Promise<unknown>): Promise<'ok' | { notBefore: number }> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (isSecretStoreError(error, SecretStoreErrorCode.Throttled) && error.notBefore !== undefined) return { notBefore: error.notBefore.getTime() };
    throw error;
  }
}

describe('paced secret store', () => {
  it("answers a create over the vault's budget Throttled with the next slot as notBefore, without calling Key Vault", async () => {
    // Prepare: 0.9 × 300 per 10 s = 27 creates per 1-s slot
    const { store, inner } = world();

    // Act
    const outcomes = [];
    for (let i = 0; i < 30; i += 1) outcomes.push(await outcomeOf(store.setSecret(ref, { value: SecretValue.from(`paced-value-${i + 2}`), tags: {} })));

    // Assess
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(27);
    expect(outcomes.slice(27)).toEqual([{ notBefore: START + SLOT_MS }, { notBefore: START + SLOT_MS }, { notBefore: START + SLOT_MS }]);
    expect(inner.calls.write).toBe(27);
  });

  it('counts creates and other calls in separate buckets, and grants again in the next slot', async () => {
    // Prepare
    const { store, clock } = world({ target: 0.1 });
    // 0.1 × 300 / 10 = 3 creates per slot; other calls have 40
    for (let i = 0; i < 3; i += 1) await store.setSecret(ref, { value: SecretValue.from(`v-${i}`), tags: {} });

    // Act
    const create = await outcomeOf(store.setSecret(ref, { value: SecretValue.from('v-x'), tags: {} }));
    const read = await outcomeOf(store.getLatest(ref));
    clock.advance(SLOT_MS);
    const later = await outcomeOf(store.setSecret(ref, { value: SecretValue.from('v-y'), tags: {} }));

    // Assess
    expect(create).toEqual({ notBefore: START + SLOT_MS });
    expect(read).toBe('ok');
    expect(later).toBe('ok');
  });

  it("halves the vault's rate when Key Vault answers 429 anyway, and passes the 429 on", async () => {
    // Prepare
    const { inner, pacer, clock } = world();
    let throttle = true;
    const throttling: SecretStore = {
      ...inner,
      getLatest: async (r) => {
        if (throttle) throw new SecretStoreError(SecretStoreErrorCode.Throttled, 'get: 429', { statusCode: 429, notBefore: new Date(clock.now().getTime() + 1_000) });
        return inner.getLatest(r);
      },
    };
    const store = createPacedSecretStore(throttling, { pacer, clock });

    // Act
    const error = await store.getLatest(ref).catch((e: unknown) => e);
    throttle = false;

    // Assess
    expect(isSecretStoreError(error) && error.statusCode).toBe(429);
    expect(await pacer.rateOf(VAULT)).toBe(0.5);
  });

  it('lets calls out unpaced when the pacing record cannot be read', async () => {
    // Prepare
    const broken: PacingStore = {
      read: () => Promise.reject(new PacingError(PacingErrorCode.Unavailable, 'storage down')),
      write: () => Promise.reject(new PacingError(PacingErrorCode.Unavailable, 'storage down')),
    };
    const { store } = world({ store: broken });

    // Act
    const read = await store.getLatest(ref);

    // Assess
    expect(read.kind).toBe('found');
  });

  it('waits a put-off call out for callers that may wait (the sweep, a batch), within a bound', async () => {
    // Prepare
    let calls = 0;
    const soon = () => new Date(Date.now() + 20);
    const work = () => {
      calls += 1;
      if (calls < 3) return Promise.reject(new SecretStoreError(SecretStoreErrorCode.Throttled, 'over budget', { notBefore: soon() }));
      return Promise.resolve('done');
    };

    // Act
    const result = await waitingOutThrottle(work, { maxWaitMs: 10_000 });
    const tooLong = await waitingOutThrottle(() => Promise.reject(new SecretStoreError(SecretStoreErrorCode.Throttled, 'x', { notBefore: new Date(Date.now() + 60_000) })), { maxWaitMs: 1_000 }).catch((e: unknown) => e);

    // Assess
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(isSecretStoreError(tooLong, SecretStoreErrorCode.Throttled)).toBe(true);
  });
});

describe('ROTOR_VAULT_BUDGET', () => {
  it.each([
    ['', { default: 0.9, byVault: {} }],
    ['0.5', { default: 0.5, byVault: {} }],
    ['0.8, kv-shared.vault.azure.net=0.3', { default: 0.8, byVault: { 'kv-shared.vault.azure.net': 0.3 } }],
    ['https://KV-Shared.vault.azure.net=0.3', { default: 0.9, byVault: { 'kv-shared.vault.azure.net': 0.3 } }],
    ['off, kv-app.vault.azure.net=1', { default: 0, byVault: { 'kv-app.vault.azure.net': 1 } }],
  ])('parses %j', (text, expected) => {
    expect(parsePacingTargets(text)).toEqual(expected);
  });

  it.each(['0', '1.5', 'abc', 'kv.vault.azure.net=', 'https://kv.vault.azure.net/secrets=0.5'])('refuses %j, saying what a share must be', (text) => {
    expect(typeof parsePacingTargets(text)).toBe('string');
  });

  it('answers the share of a vault by its URL, else the default', () => {
    const targets = parsePacingTargets('0.7,kv-shared.vault.azure.net=0.3');
    if (typeof targets === 'string') throw new Error(targets);
    expect(targetFor(targets, 'https://kv-shared.vault.azure.net')).toBe(0.3);
    expect(targetFor(targets, 'https://kv-other.vault.azure.net')).toBe(0.7);
  });
});
