import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProvider, type DemoProvider } from '../../../examples/webhook-receiver/demo-provider.js';
import { createRotorReceiver } from '../../../examples/webhook-receiver/receiver.js';
import { createRotationStepsHandler } from '../../../functions/rotationSteps.js';
import type { Rotation } from '../../../src/rotation/model.js';
import { createPostgresRotator, decodeCredential } from '../../../src/rotators/postgres/index.js';
import { createWebhookRotator } from '../../../src/rotators/webhook/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/embedded-postgres.js';
import { createE2ERotor, startE2EGround, versionsOf, type E2EGround, type E2ERotor } from '../../helpers/e2e-stack.js';
import { memoryTransport, startServiceBusTransport, stepInvocation, type StepTransport } from '../../helpers/e2e-transport.js';
import { createTestCertificate } from '../../helpers/https-certificate.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

/**
 * The database and webhook rotators in the whole of Rotor: the Key Vault
 * emulator behind Rotor's Key Vault store (the admin credential and the
 * signing key are real vault secrets read through it), the blob ledger on
 * Azurite, the real HTTP health probe against a consumer app that reads the
 * vault, the exported step handler, and the step queue in memory (virtual
 * time) or on the Service Bus emulator (real time). PostgreSQL is real; every
 * "logs in" is a real login.
 */
const DAY = 86_400_000;
const ADMIN_PASSWORD = `admin-${randomUUID()}`;
const SIGNING_KEY = `whsec-${randomUUID()}-${randomUUID()}`;

let ground: E2EGround;
let db: TestPostgres;
let cert: string;
let receiver: Server;
let receiverUrl: string;
let provider: DemoProvider;
const refused: string[] = [];
let counter = 0;

async function logsIn(value: string | undefined): Promise<boolean> {
  if (value === undefined) return false;
  const { username, password } = decodeCredential(SecretValue.from(value));
  return username !== undefined && db.canLogin(username, password.reveal());
}

beforeAll(async () => {
  const [startedGround, startedDb, pems] = await Promise.all([startE2EGround(), startTestPostgres(), createTestCertificate()]);
  ground = startedGround;
  db = startedDb;
  cert = pems.cert;
  await db.query(await readFile(new URL('../../../docs/rotators/postgres-alternating.sql', import.meta.url), 'utf8'));
  await db.query('CREATE ROLE app_user LOGIN');
  await db.query('GRANT app_user TO rotor_admin WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
  await db.query(`ALTER ROLE rotor_admin PASSWORD ${pg.escapeLiteral(ADMIN_PASSWORD)}`);
  await ground.client.setSecret('pg-admin', JSON.stringify({ username: 'rotor_admin', password: ADMIN_PASSWORD }));
  await ground.client.setSecret('webhook-signing-key', SIGNING_KEY);
  receiver = createServer(
    { cert: pems.cert, key: pems.key },
    createRotorReceiver({ signingKey: SIGNING_KEY, handle: (r) => provider.handle(r), onRejected: (_s, reason) => refused.push(reason) }),
  );
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/rotate`;
});

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())));
  await Promise.all([ground?.stop(), db?.stop()]);
});

/** The rotation's steps and its end, value-free, so a status that differs says how it got there. */
function storyOf(rotation: Rotation): string {
  const steps = rotation.steps.map((s) => `${s.step}#${s.attempt} ${s.outcome}${s.error === undefined ? '' : ` (${s.error.code}: ${s.error.message})`}`);
  return [...steps, `${rotation.status}${rotation.reason === undefined ? '' : `: ${rotation.reason}`}`].join(' → ');
}

/**
 * Every scenario runs on the in-memory queue; the alternating pair runs on the
 * Service Bus emulator too (real time: each costs a few seconds of grace and probes).
 */
const transports: readonly { readonly name: string; readonly grace: string; readonly everyScenario: boolean; readonly create: () => Promise<StepTransport> }[] = [
  { name: 'in-memory queue, virtual time', grace: 'PT2M', everyScenario: true, create: () => Promise.resolve(memoryTransport()) },
  { name: 'Service Bus emulator, real time', grace: 'PT1S', everyScenario: false, create: () => startServiceBusTransport() },
];

describe.each(transports)('on the emulators ($name)', ({ name: transportName, grace, everyScenario, create }) => {
  let transport: StepTransport;
  let rotor: E2ERotor;
  const virtualTime = transportName.startsWith('in-memory');

  beforeAll(async () => {
    transport = await create();
    rotor = await createE2ERotor(ground, {
      stepQueue: transport.stepQueue,
      clock: transport.clock,
      rotators: [createPostgresRotator({ connectTimeoutMs: 5_000 }), createWebhookRotator({ ca: cert, retryDelayMs: 1 })],
    });
  });

  afterAll(async () => {
    await transport?.stop();
  });

  async function managedSecret(value: string, tags: Record<string, string>): Promise<{ name: string; ref: { vaultUrl: string; name: string }; version: string }> {
    counter += 1;
    const name = `db-${counter}-${Date.now().toString(36)}`;
    const written = await ground.client.setSecret(name, value, {
      tags: { 'rotor-validity': 'P60D', 'rotor-grace': grace, 'rotor-health': ground.consumer.healthUrl(name), ...tags },
      expiresOn: new Date(transport.clock.now().getTime() + 20 * DAY),
    });
    return { name, ref: { vaultUrl: ground.vaultUrl, name }, version: written.properties.version ?? '' };
  }

  /** Runs the rotation through the exported step handler; `atBoundary` runs after every message handled. */
  async function rotate(secret: { ref: { vaultUrl: string; name: string }; version: string }, atBoundary?: (step: string) => Promise<void>): Promise<Rotation> {
    const start = await rotor.engine.startRotation(secret.ref, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version: secret.version });
    if (start.outcome !== 'started') throw new Error(`rotation did not start: ${start.outcome}`);
    const handle = createRotationStepsHandler(() => Promise.resolve(rotor.engine));
    const ended = async (): Promise<boolean> => {
      const record = await rotor.ledger.getRotation(start.rotationId);
      return record !== undefined && ['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped'].includes(record.value.status);
    };
    await transport.deliverAll(
      async (body, delivery) => {
        await handle(body, stepInvocation(delivery));
        await atBoundary?.((body as { step: string }).step);
      },
      { until: ended, timeoutMs: 60_000 },
    );
    return (await rotor.ledger.getRotation(start.rotationId))!.value;
  }

  async function latestValue(name: string): Promise<string | undefined> {
    return (await ground.client.getSecret(name)).value;
  }

  async function everythingWritten(): Promise<string[]> {
    return [...rotor.logs.map((r) => JSON.stringify(r)), ...(await rotor.ledgerBlobs()), ...transport.bodies(), ...rotor.notifier.sent.map((n) => JSON.stringify(n))];
  }

  function alternatingTags(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'rotor-rotator': 'postgres',
      'rotor-strategy': 'alternating',
      'rotor-target': 'app_a,app_b',
      'rotor-pg-server': db.serverUrl,
      'rotor-pg-admin-secret': 'pg-admin',
      'rotor-slot': 'app_a',
      ...extra,
    };
  }

  async function resetAlternating(): Promise<string> {
    const password = `initial-${randomUUID()}`;
    await db.query(`ALTER ROLE app_a PASSWORD ${pg.escapeLiteral(password)}`);
    await db.query('ALTER ROLE app_b PASSWORD NULL');
    return JSON.stringify({ username: 'app_a', password });
  }

  it('PostgreSQL alternating: the new role logs in, the old one until revoke; the latest value logs in at every step boundary (I1)', async () => {
    // Prepare: revoke-after only where time is virtual; on Service Bus an hour would be real
    const initial = await resetAlternating();
    const secret = await managedSecret(initial, alternatingTags(virtualTime ? { 'rotor-revoke-after': 'PT1H' } : {}));
    const violations: string[] = [];
    let oldLogsInAtRetire: boolean | undefined;

    // Act
    const rotation = await rotate(secret, async (step) => {
      if (!(await logsIn(await latestValue(secret.name)))) violations.push(`after ${step}`);
      if (step === 'retire') oldLogsInAtRetire = await logsIn(initial);
    });

    // Assess
    expect(rotation.status, storyOf(rotation)).toBe('Completed');
    expect(violations).toEqual([]);
    expect(oldLogsInAtRetire).toBe(true);
    const latest = await ground.client.getSecret(secret.name);
    expect(decodeCredential(SecretValue.from(latest.value!)).username).toBe('app_b');
    expect(latest.properties.contentType).toBe('application/vnd.rotor.postgres+json');
    expect(latest.properties.tags).toMatchObject({ 'rotor-slot': 'app_b', 'rotor-pg-admin-secret': 'pg-admin', 'rotor-rotation': rotation.id });
    expect(await logsIn(latest.value)).toBe(true);
    expect(await logsIn(initial)).toBe(!virtualTime);
    expectNoSecretIn(await everythingWritten(), [initial, latest.value!, ADMIN_PASSWORD]);
  });

  it('PostgreSQL alternating: a consumer that breaks on the new credential rolls back; the restored one logs in at every boundary', async () => {
    // Prepare
    const initial = await resetAlternating();
    const secret = await managedSecret(initial, alternatingTags());
    ground.consumer.accept(secret.name, (value) => value === initial);
    const violations: string[] = [];

    // Act
    const rotation = await rotate(secret, async (step) => {
      if (!(await logsIn(await latestValue(secret.name)))) violations.push(`after ${step}`);
    });

    // Assess
    expect(rotation.status, storyOf(rotation)).toBe('RolledBack');
    expect(violations).toEqual([]);
    expect(await latestValue(secret.name)).toBe(initial);
    expect(await logsIn(initial)).toBe(true);
    expect((await db.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_b'")).rows[0]?.rolpassword).toBeNull();
    expect((await versionsOf(ground.client, secret.name)).get(rotation.versions.promoted!)?.enabled).toBe(false);
  });

  if (!everyScenario) return;

  it('PostgreSQL single: the new password logs in, the old one no longer', async () => {
    // Prepare
    const password = `single-${randomUUID()}`;
    await db.query(`ALTER ROLE app_user PASSWORD ${pg.escapeLiteral(password)}`);
    const initial = JSON.stringify({ username: 'app_user', password });
    const secret = await managedSecret(initial, {
      'rotor-rotator': 'postgres',
      'rotor-strategy': 'single',
      'rotor-target': 'app_user',
      'rotor-pg-server': db.serverUrl,
      'rotor-pg-admin-secret': 'pg-admin',
    });

    // Act
    const rotation = await rotate(secret);

    // Assess
    expect(rotation.status, storyOf(rotation)).toBe('Completed');
    // promote generates, keeps the value pending, sets it on the role (the rotator's apply) and writes the version: one step
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire']);
    expect(await logsIn(await latestValue(secret.name))).toBe(true);
    expect(await logsIn(initial)).toBe(false);
  });

  it('webhook alternating: the receiver verifies every signed step and the new key is live', async () => {
    // Prepare
    provider = createDemoProvider({ key1: 'initial-api-key-0123456789' });
    const secret = await managedSecret('initial-api-key-0123456789', {
      'rotor-rotator': 'webhook',
      'rotor-strategy': 'alternating',
      'rotor-webhook-url': receiverUrl,
      'rotor-webhook-signing-secret': 'webhook-signing-key',
      'rotor-slot': 'key1',
    });

    // Act
    const rotation = await rotate(secret);

    // Assess
    expect(rotation.status, storyOf(rotation)).toBe('Completed');
    expect(refused).toEqual([]);
    const latest = await latestValue(secret.name);
    expect(provider.accepts(latest!)).toBe(true);
    expect(provider.slots.get('key2')).toBe(latest);
    expectNoSecretIn(await everythingWritten(), [latest!, SIGNING_KEY]);
  });
});
