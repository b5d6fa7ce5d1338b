import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator } from '../../../emulators/azure-management/index.js';
import { createEmulatorSecretClient, startKeyVaultEmulator, type KeyVaultEmulator } from '../../../emulators/keyvault/index.js';
import type { AdoptionReport, ConsumerGateway, NudgeContext } from '../../../src/consumers/adapter.js';
import { parseConsumerEntry, type ConsumerEntry } from '../../../src/consumers/entries.js';
import { ConsumerErrorCode, isConsumerError } from '../../../src/consumers/errors.js';
import { createConsumerGatewayFromOptions } from '../../../src/consumers/gateway.js';
import { keyVaultResolver } from '../../../src/local/consumer-apps/key-vault-resolver.js';
import { startDemoHttpsConsumer, type DemoHttpsConsumer } from '../../../src/local/consumer-apps/https-consumer.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';

const signingKey = SecretValue.from('integration-consumer-signing-key');

function entryOf(text: string): ConsumerEntry {
  const reading = parseConsumerEntry(text);
  if ('problem' in reading) throw new Error(reading.problem);
  return reading.entry;
}

async function failureOf(promise: Promise<unknown>): Promise<{ code: string; message: string; transient: boolean }> {
  try {
    await promise;
  } catch (error) {
    if (isConsumerError(error)) return { code: error.code, message: error.message, transient: error.transient };
    throw error;
  }
  throw new Error('expected a ConsumerError');
}

/** Polls until `read` says adopted, with a generous bound; answers the last report. */
async function untilAdopted(read: () => Promise<AdoptionReport>): Promise<AdoptionReport> {
  let last: AdoptionReport = await read();
  for (let i = 0; i < 200 && last.state !== 'adopted'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await read();
  }
  return last;
}

describe('consumer adapters against the stand-ins, over HTTP', () => {
  let kv: KeyVaultEmulator;
  let officer: SecretClient;
  let arm: AzureManagementEmulator;
  let https: DemoHttpsConsumer;
  let gateway: ConsumerGateway;
  let vaultUrl: string;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ expiryCheckIntervalMs: 0, throttle: false });
    officer = createEmulatorSecretClient(kv);
    vaultUrl = new URL(kv.url).origin;
    await officer.setSecret('orders-db', 'first-value');
    await officer.setSecret('pinned-db', 'first-value');
    arm = await startAzureManagementEmulator({
      keyVault: { url: kv.url, name: kv.vaultName, resolve: keyVaultResolver(createEmulatorSecretClient(kv, { role: 'user' })) },
      webSites: [
        { name: 'app-orders', references: [{ setting: 'DB_PASSWORD', secretName: 'orders-db' }] },
        { name: 'app-orders', slot: 'staging', references: [{ setting: 'DB_PASSWORD', secretName: 'orders-db' }] },
        { name: 'app-none', references: [{ setting: 'OTHER', secretName: 'something-else' }] },
      ],
      containerApps: [{ name: 'orders-api', revisions: [{ name: 'orders-api--a1', active: true }, { name: 'orders-api--old', active: false }] }, { name: 'idle-api', revisions: [] }],
    });
    https = await startDemoHttpsConsumer({ client: createEmulatorSecretClient(kv, { role: 'user' }), signingKey });
    gateway = createConsumerGatewayFromOptions({
      credential: createFakeCredential,
      armEndpoint: arm.armEndpoint,
      ca: arm.ca,
      signingKey,
      timeoutMs: 1_000,
      arm: { maxRetries: 0 },
    });
  });
  afterAll(async () => {
    await https?.stop();
    await arm?.stop();
    await kv?.stop();
  });

  async function promote(name: string): Promise<NudgeContext> {
    const secret = await officer.setSecret(name, `value-${Date.now()}`);
    return { secret: { vaultUrl, name }, version: secret.properties.version ?? '', rotationId: `rot-${name}-${Date.now()}`, purpose: 'adopt' };
  }

  describe('appservice', () => {
    it('reports the old version until refreshed, then the promoted one', async () => {
      // Prepare
      const site = entryOf(`appservice:${arm.webSiteId('app-orders')}`);
      const context = await promote('orders-db');

      // Act
      const before = await gateway.readAdoption(site, context);
      const nudged = await gateway.nudge(site, context);
      const after = await untilAdopted(() => gateway.readAdoption(site, context));

      // Assess
      expect(before).toMatchObject({ state: 'behind', detail: expect.stringMatching(/setting DB_PASSWORD resolved version [0-9a-f]{32}/) });
      expect(nudged.detail).toBe('Key Vault references refresh requested');
      expect(after).toEqual({ state: 'adopted', version: context.version, detail: `1 reference(s) resolved to ${context.version}` });
      expect(arm.admin.webSite('app-orders').refreshes).toBe(1);
      expect(arm.admin.calls.filter((c) => c.path.includes('configreferences')).every((c) => c.authorized && c.apiVersion === '2024-04-01')).toBe(true);
    });

    it('refreshes a slot on its own', async () => {
      const slot = entryOf(`appservice:${arm.webSiteId('app-orders', 'staging')}`);
      const context = await promote('orders-db');

      await gateway.nudge(slot, context);

      expect(await untilAdopted(() => gateway.readAdoption(slot, context))).toMatchObject({ state: 'adopted' });
      expect(arm.admin.webSite('app-orders', 'staging').refreshes).toBe(1);
    });

    it('says so when the app has no reference to the secret', async () => {
      const site = entryOf(`appservice:${arm.webSiteId('app-none')}`);
      const context = await promote('orders-db');

      expect(await gateway.readAdoption(site, context)).toEqual({ state: 'behind', detail: 'no app setting references orders-db in this vault' });
    });

    it('reports a pinned reference as behind, naming the pin', async () => {
      const pinnedAt = (await officer.getSecret('pinned-db')).properties.version ?? '';
      await arm.admin.addWebSite({ name: 'app-pinned', references: [{ setting: 'PINNED', secretName: 'pinned-db', secretVersion: pinnedAt }] });
      const site = entryOf(`appservice:${arm.webSiteId('app-pinned')}`);
      const context = await promote('pinned-db');

      await gateway.nudge(site, context);
      await arm.admin.restartWebSite('app-pinned');

      expect(await gateway.readAdoption(site, context)).toEqual({ state: 'behind', version: pinnedAt, detail: `setting PINNED is pinned to version ${pinnedAt}` });
    });

    it.each([
      { status: 403, code: ConsumerErrorCode.Forbidden, transient: false },
      { status: 503, code: ConsumerErrorCode.Unavailable, transient: true },
      { status: 429, code: ConsumerErrorCode.Throttled, transient: true },
    ])('translates $status on refresh into $code', async ({ status, code, transient }) => {
      const site = entryOf(`appservice:${arm.webSiteId('app-orders')}`);
      const context = await promote('orders-db');
      arm.admin.inject(status === 429 ? { kind: 'throttle', retryAfterSeconds: 60, pathIncludes: '/refresh' } : { kind: 'fail', status, pathIncludes: '/refresh' });

      const failure = await failureOf(gateway.nudge(site, context));

      expect(failure).toMatchObject({ code, transient });
      expect(failure.message).toMatch(/^appservice app-orders: the Key Vault reference refresh/);
    });

    it('answers NotFound for a site that does not exist', async () => {
      const site = entryOf(`appservice:${arm.webSiteId('app-orders').replace('app-orders', 'app-gone')}`);
      const context = await promote('orders-db');

      expect(await failureOf(gateway.readAdoption(site, context))).toMatchObject({ code: ConsumerErrorCode.NotFound, transient: false });
    });
  });

  describe('containerapp', () => {
    it('restarts the active revisions only, and cannot report adoption', async () => {
      const app = entryOf(`containerapp:${arm.containerAppId('orders-api')}`);
      const context = await promote('orders-db');

      const nudged = await gateway.nudge(app, context);
      const report = await gateway.readAdoption(app, context);

      expect(nudged.detail).toBe('restarted revision orders-api--a1');
      expect(arm.admin.containerApp('orders-api').revisions.map((r) => r.restarts)).toEqual([1, 0]);
      expect(report.state).toBe('unreported');
    });

    it('refuses an app with no active revision', async () => {
      const app = entryOf(`containerapp:${arm.containerAppId('idle-api')}`);

      expect(await failureOf(gateway.nudge(app, await promote('orders-db')))).toMatchObject({ code: ConsumerErrorCode.Rejected, message: 'containerapp idle-api: no active revision to restart' });
    });
  });

  describe('https', () => {
    it('sends a signed CloudEvent; an adopting consumer then reports the promoted version', async () => {
      const consumer = entryOf(await https.addConsumer('adopts', 'orders-db', 'adopt'));
      const context = await promote('orders-db');

      const before = await gateway.readAdoption(consumer, context);
      const nudged = await gateway.nudge(consumer, context);
      const after = await gateway.readAdoption(consumer, context);

      expect(before.state).toBe('behind');
      expect(nudged.detail).toBe('CloudEvent accepted (202)');
      expect(after).toEqual({ state: 'adopted', version: context.version, detail: `uses version ${context.version}` });
      expect(https.consumer('adopts')).toMatchObject({ nudges: 1, refused: 0 });
    });

    it('reports a consumer that ignores the nudge as behind, with the version it uses', async () => {
      const consumer = entryOf(await https.addConsumer('ignores', 'orders-db', 'ignore'));
      const old = https.consumer('ignores').version;
      const context = await promote('orders-db');

      await gateway.nudge(consumer, context);

      expect(await gateway.readAdoption(consumer, context)).toEqual({ state: 'behind', version: old, detail: `still uses version ${old}` });
    });

    it.each([
      { mode: 'garbage' as const, code: ConsumerErrorCode.Rejected, message: /answered the adoption query with something other than JSON/ },
      { mode: 'silent' as const, code: ConsumerErrorCode.Unavailable, message: /no answer to the adoption query within 1000 ms/ },
    ])('turns a consumer that answers $mode into a clear $code', async ({ mode, code, message }) => {
      const consumer = entryOf(await https.addConsumer(`c-${mode}`, 'orders-db', mode));

      const failure = await failureOf(gateway.readAdoption(consumer, await promote('orders-db')));

      expect(failure.code).toBe(code);
      expect(failure.message).toMatch(message);
    });

    it('is refused by a consumer that does not accept the signature, and says so', async () => {
      const consumer = entryOf(await https.addConsumer('strict', 'orders-db', 'adopt'));
      const wrongKey = createConsumerGatewayFromOptions({ credential: createFakeCredential, signingKey: SecretValue.from('some-other-key-entirely'), timeoutMs: 1_000 });

      const failure = await failureOf(wrongKey.nudge(consumer, await promote('orders-db')));

      expect(failure).toMatchObject({ code: ConsumerErrorCode.Forbidden, message: `${https.consumerUrl('strict')}: the nudge answered HTTP 401` });
      expect(https.consumer('strict').refused).toBe(1);
    });

    it('sends no unsigned nudge when no signing key is configured', async () => {
      const consumer = entryOf(await https.addConsumer('unsigned', 'orders-db', 'adopt'));
      const unsigned = createConsumerGatewayFromOptions({ credential: createFakeCredential, timeoutMs: 1_000 });

      const failure = await failureOf(unsigned.nudge(consumer, await promote('orders-db')));

      expect(failure).toMatchObject({ code: ConsumerErrorCode.NotConfigured, message: expect.stringContaining('ROTOR_CONSUMER_SIGNING_KEY is not set') });
      expect(https.consumer('unsigned').nudges + https.consumer('unsigned').refused).toBe(0);
    });

    it('refuses an adoption answer larger than 16 KiB, with its own code and without quoting it', async () => {
      // Prepare: a consumer that answers GET with 20 KiB
      const big = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"secret":"orders-db","version":"${'a'.repeat(20 * 1024)}"}`));
      await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
      const consumer = entryOf(`http://127.0.0.1:${(big.address() as AddressInfo).port}/rotor`);

      try {
        // Act
        const failure = await failureOf(gateway.readAdoption(consumer, await promote('orders-db')));

        // Assess
        expect(failure).toMatchObject({ code: ConsumerErrorCode.Rejected, message: expect.stringContaining('exceeded 16384 bytes') });
        expect(failure.message).not.toContain('aaaa');
      } finally {
        big.closeAllConnections();
        await new Promise<void>((resolve) => big.close(() => resolve()));
      }
    });

    it('answers Unavailable for a consumer that is not listening', async () => {
      const consumer = entryOf('http://127.0.0.1:9/consumers/nobody');

      expect(await failureOf(gateway.nudge(consumer, await promote('orders-db')))).toMatchObject({ code: ConsumerErrorCode.Unavailable, transient: true });
    });
  });
});
