import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClientSecretCheck } from '../../../src/azure-management/client-secret-check.js';
import { passwordDisplayName } from '../../../src/rotators/entra-app-secret/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { replayEveryCrash } from '../../helpers/crash-replay.js';
import { versionsOf } from '../../helpers/e2e-stack.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import {
  createAzureWorld,
  engineSnapshot,
  everythingWritten,
  rotateThroughEngine,
  startAzureGround,
  uniqueName,
  writeManagedSecret,
  type AzureGround,
  type AzureWorld,
  type ManagedSecret,
} from './azure-ground.js';

const DAY = 86_400_000;
let azure: AzureGround;

beforeAll(async () => {
  azure = await startAzureGround();
});

afterAll(async () => {
  await azure.stop();
});

afterEach(() => {
  azure.standIn.admin.clearFaults();
});

interface EntraSetup {
  readonly appId: string;
  readonly original: { readonly keyId: string; readonly secretText: string };
  readonly secret: ManagedSecret;
}

/**
 * An app registration with one client secret made by hand, and the Key Vault
 * secret holding it, tagged by its owner. `CredentialId` (Microsoft's sample
 * tag) names the hand-made secret's key id when `withCredentialId`; otherwise
 * Rotor finds it by its hint.
 */
async function entraSecret(options: { readonly tags?: Record<string, string>; readonly withCredentialId?: boolean } = {}): Promise<EntraSetup> {
  const app = azure.standIn.admin.addApplication({ displayName: 'erp-integration', passwords: [{ displayName: 'created by hand' }] });
  const original = app.passwordCredentials[0]!;
  const name = uniqueName('entra');
  const secret = await writeManagedSecret(azure, name, original.secretText, {
    'rotor-rotator': 'entra-app-secret',
    'rotor-target': app.appId,
    ValidityPeriodDays: '90',
    'rotor-grace': 'PT10M',
    'rotor-health': azure.ground.consumer.healthUrl(name),
    team: 'erp',
    ...(options.withCredentialId === true ? { CredentialId: original.keyId } : {}),
    ...options.tags,
  });
  return { appId: app.appId, original: { keyId: original.keyId, secretText: original.secretText }, secret };
}

const passwordsOf = (appId: string) => azure.standIn.admin.application(appId).passwordCredentials;

/** Does the token endpoint accept this client secret? The same request the app would send. */
async function accepted(appId: string, secretText: string): Promise<boolean> {
  const check = createClientSecretCheck({ tls: { ca: azure.standIn.ca }, authorityHost: azure.standIn.authorityHost });
  return (await check({ tenantId: azure.standIn.tenantId, clientId: appId, secret: SecretValue.from(secretText) })).accepted;
}

describe('entra-app-secret through the engine (Key Vault emulator, Graph and token endpoint stand-in)', () => {
  it.each([
    { case: 'without revoke-after, the hand-made secret stays valid next to the new one', revoke: false },
    { case: 'with rotor-revoke-after and CredentialId, the hand-made secret is removed after verify', revoke: true },
  ])('rotates: $case', async ({ revoke }) => {
    // Prepare
    const { appId, original, secret } = await entraSecret(revoke ? { tags: { 'rotor-revoke-after': 'PT1H' }, withCredentialId: true } : {});
    const world = await createAzureWorld(azure);
    const startedAt = Date.now();
    const virtualStart = world.transport.clock.now().getTime();

    // Act
    const rotation = await rotateThroughEngine(world, secret, 'event');

    // Assess: the new version holds the secret Graph returned for this rotation, tagged with its key id
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'prepare', 'promote', 'verify', 'retire', ...(revoke ? ['revoke'] : [])]);
    const ours = passwordsOf(appId).filter((p) => p.displayName === passwordDisplayName(rotation.id));
    expect(ours).toHaveLength(1);
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    expect(latest.value).toBe(ours[0]!.secretText);
    expect(latest.properties.tags).toMatchObject({ 'rotor-slot': ours[0]!.keyId, 'rotor-rotation': rotation.id, ValidityPeriodDays: '90', team: 'erp', 'rotor-target': appId });
    if (revoke) expect(latest.properties.tags?.CredentialId).toBe(ours[0]!.keyId);
    expect(Math.abs(Date.parse(ours[0]!.endDateTime) - (startedAt + 90 * DAY))).toBeLessThan(60_000);
    expect(Math.abs(latest.properties.expiresOn!.getTime() - (virtualStart + 90 * DAY))).toBeLessThan(5_000);
    expect(await accepted(appId, latest.value!)).toBe(true);
    // ... and the hand-made one per strategy: kept (alternating), or removed by revoke
    expect(passwordsOf(appId).map((p) => p.keyId).sort()).toEqual((revoke ? [ours[0]!.keyId] : [original.keyId, ours[0]!.keyId]).sort());
    expect(await accepted(appId, original.secretText)).toBe(!revoke);
    expect((await versionsOf(azure.ground.client, secret.ref.name)).get(secret.version)?.enabled).toBe(false);
    expectNoSecretIn(await everythingWritten(world), [original.secretText, latest.value!]);
  });

  it('rolls back when the consumer fails after promote: this rotation\'s secret is removed, the hand-made one is latest again and works', async () => {
    // Prepare
    const { appId, original, secret } = await entraSecret();
    azure.ground.consumer.accept(secret.ref.name, (value) => value === original.secretText);
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('503');
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    expect(latest.value).toBe(original.secretText);
    expect(latest.properties.version).toBe(rotation.versions.restored);
    expect(passwordsOf(appId).map((p) => p.keyId)).toEqual([original.keyId]);
    expect(await accepted(appId, original.secretText)).toBe(true);
    expect((await versionsOf(azure.ground.client, secret.ref.name)).get(rotation.versions.promoted!)?.enabled).toBe(false);
    expectNoSecretIn(await everythingWritten(world), [original.secretText]);
  });

  it('leaves no orphan when Graph added the secret but the answer was lost: the retried prepare removes it and adds one', async () => {
    // Prepare
    const { appId, original, secret } = await entraSecret();
    azure.standIn.admin.inject({ kind: 'drop', method: 'POST', pathIncludes: '/addPassword', times: 1 });
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => `${s.step}:${s.outcome}`)).toContain('prepare:retrying');
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    const ours = passwordsOf(appId).filter((p) => p.displayName === passwordDisplayName(rotation.id));
    expect(ours.map((p) => p.secretText)).toEqual([latest.value]);
    expect(passwordsOf(appId)).toHaveLength(2);
    expect(await accepted(appId, original.secretText)).toBe(true);
  });

  it.each([
    ['completes and revokes', false],
    ['rolls back', true],
  ])('a rotation that %s leaves no orphaned client secret after a crash at every write (I4)', async (_name, consumerBreaks) => {
    // Act
    const report = await replayEveryCrash<{ world: AzureWorld; setup: EntraSetup }, unknown>({
      createWorld: async (crash) => {
        const setup = await entraSecret({ tags: { 'rotor-revoke-after': 'PT1H' }, withCredentialId: true });
        if (consumerBreaks) azure.ground.consumer.accept(setup.secret.ref.name, (value) => value === setup.original.secretText);
        return { world: await createAzureWorld(azure, { crash, maxStepAttempts: 2, memoryLedger: true }), setup };
      },
      run: async ({ world, setup }) => {
        await rotateThroughEngine(world, setup.secret, 'event');
      },
      snapshot: async ({ world, setup }) => {
        const latest = (await azure.ground.client.getSecret(setup.secret.ref.name)).value!;
        expectNoSecretIn(await everythingWritten(world), [setup.original.secretText, latest]);
        const passwords = passwordsOf(setup.appId);
        return {
          engine: await engineSnapshot(azure, world, setup.secret),
          // Every client secret the app has, by who made it; the count is the orphan check.
          passwords: passwords.map((p) => (p.keyId === setup.original.keyId ? 'hand-made' : p.displayName?.startsWith('rotor:') === true ? 'rotor' : 'other')).sort(),
          latestIsAPassword: passwords.some((p) => p.secretText === latest),
          latestAccepted: await accepted(setup.appId, latest),
        };
      },
    });

    // Assess
    expect(report.writes).toBeGreaterThan(10);
    expect(report.clean).toMatchObject({
      engine: { status: consumerBreaks ? 'RolledBack' : 'Completed' },
      passwords: consumerBreaks ? ['hand-made'] : ['rotor'],
      latestIsAPassword: true,
      latestAccepted: true,
    });
    expect(report.cleanWrites).toContain('rotator(entra-app-secret).prepare');
    expect(report.cleanWrites).toContain(consumerBreaks ? 'rotator(entra-app-secret).restore' : 'rotator(entra-app-secret).revoke');
    for (const replay of report.cases) {
      expect(replay.fired).toBe(true);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
