import { BlobServiceClient } from '@azure/storage-blob';
import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { createBlobLedger } from '../../src/ledger/blob-ledger.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { defaultRedeliveryPolicy, redeliveryBudgetMs } from '../../src/queue/step-redelivery.js';
import { startTcpOutageProxy, type TcpOutage } from '../helpers/tcp-outage.js';

/**
 * A ledger outage in the middle of a rotation, on the local stack: the
 * ledger's storage goes away (connections reset by a proxy in front of
 * Azurite) once the rotation is under way, and comes back only after the step
 * handler has run into it more times than the step queue's max delivery count
 * (10). Thrown into the host, as before, that many failures dead-letter the
 * step and end the rotation Failed; backed off, the rotation ends Completed.
 *
 * The outage is driven by conditions, not by the clock: down when the
 * rotation has left `begin`, up after 12 backed-off failures. With the
 * production policy (1 s doubling to a minute) 12 redeliveries are 7 minutes
 * of outage, well past the 60 s the issue asks for; the test runs them with
 * millisecond delays.
 */

const FAILURES_TO_RIDE_OUT = 12;
const sink = createMemorySink();
let stack: LocalStack;
let proxy: TcpOutage;
let client: SecretClient;
let vaultUrl: string;

beforeAll(async () => {
  // The proxy starts first; it learns Azurite's port when the stack composes the ledger client.
  let azuriteAt = { host: '127.0.0.1', port: 0 };
  proxy = await startTcpOutageProxy(() => azuriteAt);
  stack = await startLocalStack({
    log: createLogger(sink, { level: 'info' }),
    demo: false,
    timers: 'manual',
    keyVaultThrottle: false,
    redeliveryPolicy: { baseMs: 20, maxMs: 200, maxRedeliveries: 40 },
    ledgerClient: (azurite) => {
      const endpoint = new URL(azurite.blobEndpoint);
      azuriteAt = { host: endpoint.hostname, port: Number(endpoint.port) };
      // The SDK's own retries (seconds each) are Azure's first line; here they would only slow the test.
      return BlobServiceClient.fromConnectionString(azurite.connectionString.replace(`:${endpoint.port}/`, `:${proxy.port}/`), {
        retryOptions: { maxTries: 1 },
      });
    },
  });
  client = createEmulatorSecretClient(stack.emulators.keyVault);
  vaultUrl = new URL(stack.emulators.keyVault.url).origin;
}, 120_000);

afterAll(async () => {
  proxy?.up();
  await stack?.stop();
  await proxy?.stop();
});

const outageWarnings = (): number => sink.records.filter((r) => String(r.message).includes('infrastructure unavailable')).length;

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('a ledger outage in the middle of a rotation', () => {
  it('is ridden out: the rotation ends Completed after more failures than Service Bus would redeliver', { timeout: 180_000 }, async () => {
    // Prepare: the test reads the ledger directly, around the outage
    expect(redeliveryBudgetMs({ ...defaultRedeliveryPolicy, maxRedeliveries: FAILURES_TO_RIDE_OUT })).toBeGreaterThan(60_000);
    const direct = createBlobLedger({ container: BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient('rotor-ledger') });
    await client.setSecret('outage-secret', 'initial-outage-value', { tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S' } });

    // Act
    const started = await stack.rotor.engine.startRotation({ vaultUrl, name: 'outage-secret' }, { kind: 'manual' });
    const rotationId = (started as { rotationId: string }).rotationId;
    await until(async () => ((await direct.getRotation(rotationId))?.value.step !== 'begin' ? true : undefined), 'the rotation to leave begin');
    proxy.down();
    // Up again after the failures, or as soon as Service Bus gave up on the step (what happened before backoff).
    const deadLettered = (): number => stack.emulators.serviceBus.admin.getCounters('rotation-steps').deadLettered;
    await until(() => (outageWarnings() >= FAILURES_TO_RIDE_OUT || deadLettered() > 0 ? true : undefined), `${FAILURES_TO_RIDE_OUT} backed-off failures`);
    const refusedDuringOutage = proxy.refused;
    proxy.up();
    const ended = await until(async () => {
      const rotation = (await direct.getRotation(rotationId))?.value;
      return rotation !== undefined && ['Completed', 'RolledBack', 'Failed', 'Aborted'].includes(rotation.status) ? rotation : undefined;
    }, 'the rotation to end');

    // Assess
    expect(refusedDuringOutage).toBeGreaterThan(0);
    expect(ended.status).toBe('Completed');
    expect(deadLettered()).toBe(0);
    expect(outageWarnings()).toBeGreaterThanOrEqual(FAILURES_TO_RIDE_OUT);
    expect((await client.getSecret('outage-secret')).value).not.toBe('initial-outage-value');
  });
});
