import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmulatorSecretClient,
  startKeyVaultEmulator,
  type KeyVaultEmulator,
} from '../../../emulators/keyvault/index.js';
import { bearer, rawRequest, rejectionOf } from './raw.js';

const listSecrets = (kv: KeyVaultEmulator) =>
  rawRequest(kv, { method: 'GET', path: '/secrets?api-version=2025-07-01', headers: bearer() });
const setSecret = (kv: KeyVaultEmulator, name: string) =>
  rawRequest(kv, {
    method: 'PUT',
    path: `/secrets/${name}?api-version=2025-07-01`,
    headers: bearer(),
    body: JSON.stringify({ value: 'v' }),
  });

describe('Key Vault emulator: throttling', () => {
  let kv: KeyVaultEmulator;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ throttle: { windowMs: 10_000, createsPerWindow: 3, othersPerWindow: 5 } });
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
  });

  it('is on by default with Key Vault’s limits', async () => {
    // Prepare
    const fresh = await startKeyVaultEmulator();
    try {
      // Act
      const limits = fresh.admin.throttle.limits();

      // Assess
      expect(limits).toEqual({ windowMs: 10_000, createsPerWindow: 300, othersPerWindow: 4_000 });
    } finally {
      await fresh.stop();
    }
  });

  it('answers 429 Throttled without Retry-After once a bucket is full, counting creates apart from other calls', async () => {
    // Act
    const creates = [];
    for (const name of ['c1', 'c2', 'c3', 'c4']) creates.push(await setSecret(kv, name));
    const others = [];
    for (let i = 0; i < 6; i += 1) others.push(await listSecrets(kv));

    // Assess
    expect(creates.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(others.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = creates[3]!;
    expect(refused.headers['retry-after']).toBeUndefined();
    expect(refused.json).toEqual({
      error: {
        code: 'Throttled',
        message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
      },
    });
    expect(kv.admin.counters().operations.set).toMatchObject({ calls: 4, throttled: 1 });
  });

  it('does not count throttled calls: the window frees up on time however often the client knocked', async () => {
    // Prepare: t=0 fills the bucket, t=5s knocks twice and is refused
    for (const name of ['a1', 'a2', 'a3']) await setSecret(kv, name);
    kv.admin.clock.advance(5_000);
    const refused = [(await setSecret(kv, 'b1')).status, (await setSecret(kv, 'b2')).status];

    // Act: at t=10.5s the t=0 calls have left the window; had the refused ones counted, only one slot would be free
    kv.admin.clock.advance(5_500);
    const later = [];
    for (const name of ['d1', 'd2', 'd3', 'd4']) later.push((await setSecret(kv, name)).status);

    // Assess
    expect(refused).toEqual([429, 429]);
    expect(later).toEqual([200, 200, 200, 429]);
  });

  it('surfaces a 429 to the SDK at once: its default retry policy needs a Retry-After that Key Vault does not send', async () => {
    // Prepare
    const client = createEmulatorSecretClient(kv);
    for (const name of ['x1', 'x2', 'x3']) await client.setSecret(name, 'v');
    kv.admin.resetCounters();

    // Act
    const error = await rejectionOf(client.setSecret('x4', 'v'));

    // Assess
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('Throttled');
    expect(kv.admin.counters().operations.set.calls).toBe(1);
  });

  it('can be turned off', async () => {
    // Prepare
    kv.admin.throttle.configure(false);
    try {
      // Act
      const statuses = [];
      for (let i = 0; i < 8; i += 1) statuses.push((await listSecrets(kv)).status);

      // Assess
      expect(statuses.every((s) => s === 200)).toBe(true);
    } finally {
      kv.admin.throttle.configure({ windowMs: 10_000, createsPerWindow: 3, othersPerWindow: 5 });
    }
  });
});

describe('Key Vault emulator: injected faults and counters', () => {
  let kv: KeyVaultEmulator;
  const coin = { next: [] as number[] };

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ throttle: false, random: () => coin.next.shift() ?? 0.99 });
  });
  afterAll(async () => {
    await kv.stop();
  });
  beforeEach(() => {
    kv.admin.reset();
  });

  const quickRetries = { retryOptions: { maxRetries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 } };

  it.each([500, 503] as const)('answers the next N calls of an operation with %i; the SDK retries through them', async (status) => {
    // Prepare
    const client = createEmulatorSecretClient(kv, { clientOptions: quickRetries });
    await client.setSecret('flaky', 'flaky-value');
    kv.admin.resetCounters();
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'status', status }, times: 2 });

    // Act
    const read = await client.getSecret('flaky');

    // Assess
    expect(read.value).toBe('flaky-value');
    expect(kv.admin.counters().operations.get).toEqual({ calls: 3, throttled: 0, errors: 2, faulted: 2 });
    expect(kv.admin.faults.list()).toEqual([]);
  });

  it('injects a 429 shaped like Key Vault’s, which the SDK does not retry', async () => {
    // Prepare
    const client = createEmulatorSecretClient(kv, { clientOptions: quickRetries });
    kv.admin.faults.inject({ operation: 'set', effect: { kind: 'status', status: 429 }, times: 1 });

    // Act
    const error = await rejectionOf(client.setSecret('throttled-once', 'v'));
    const retried = await client.setSecret('throttled-once', 'v');

    // Assess
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('Throttled');
    expect(retried.value).toBe('v');
    expect(kv.admin.counters().operations.set).toMatchObject({ calls: 2, throttled: 1, faulted: 1 });
  });

  it('resets the connection; the SDK sees a network error and retries', async () => {
    // Prepare
    const noRetry = createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } });
    const retrying = createEmulatorSecretClient(kv, { clientOptions: quickRetries });
    await retrying.setSecret('reset', 'v');
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'reset' }, times: 1 });

    // Act
    const error = await rejectionOf(noRetry.getSecret('reset'));
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'reset' }, times: 1 });
    const read = await retrying.getSecret('reset');

    // Assess
    expect(error.statusCode).toBeUndefined();
    expect(error.code).toMatch(/ECONNRESET|socket hang up/i);
    expect(read.value).toBe('v');
    expect(kv.admin.counters().operations.get.errors).toBe(2);
  });

  it('adds latency: a client timeout shorter than the injected delay fails', async () => {
    // Prepare
    const client = createEmulatorSecretClient(kv, { clientOptions: { retryOptions: { maxRetries: 0 } } });
    await client.setSecret('slow', 'v');
    kv.admin.faults.inject({ operation: 'get', effect: { kind: 'latency', ms: 1_500 }, times: 1 });

    // Act
    const error = await rejectionOf(client.getSecret('slow', { requestOptions: { timeout: 100 } }));
    const fast = await client.getSecret('slow', { requestOptions: { timeout: 1_000 } });

    // Assess
    expect(error.name).toMatch(/AbortError|TimeoutError|RestError/);
    expect(error.statusCode).toBeUndefined();
    expect(fast.value).toBe('v');
    expect(kv.admin.counters().operations.get.faulted).toBe(1);
  });

  it('fails the given fraction of calls', async () => {
    // Prepare: the random source alternates under and over the fraction
    kv.admin.faults.inject({ operation: 'list', effect: { kind: 'status', status: 503 }, fraction: 0.5 });
    coin.next = [0.1, 0.9, 0.2, 0.8];

    // Act
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await listSecrets(kv)).status);

    // Assess
    expect(statuses).toEqual([503, 200, 503, 200]);
    expect(kv.admin.counters().operations.list).toEqual({ calls: 4, throttled: 0, errors: 2, faulted: 2 });
  });

  it('only touches the named operation', async () => {
    // Prepare
    kv.admin.faults.inject({ operation: 'delete', effect: { kind: 'status', status: 500 } });

    // Act
    const set = await setSecret(kv, 'untouched');
    const list = await listSecrets(kv);

    // Assess
    expect([set.status, list.status]).toEqual([200, 200]);
    expect(kv.admin.faults.list()).toHaveLength(1);
  });

  it.each([
    { case: 'an unknown operation', rule: { operation: 'explode', effect: { kind: 'reset' } }, field: 'operation' },
    { case: 'a status other than 429/500/503', rule: { operation: 'get', effect: { kind: 'status', status: 404 } }, field: 'effect.status' },
    { case: 'times and fraction together', rule: { operation: 'get', effect: { kind: 'reset' }, times: 1, fraction: 0.5 }, field: 'times' },
  ])('refuses $case, naming the field', ({ rule, field }) => {
    // Act
    const act = () => kv.admin.faults.inject(rule as never);

    // Assess
    expect(act).toThrow(expect.objectContaining({ name: 'EmulatorAdminError', field }));
  });
});
