import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClientSecretCheck } from '../../../src/azure-management/client-secret-check.js';
import { passwordDisplayName, passwordDisplayNamePrefix } from '../../../src/rotators/entra-app-secret/index.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { replayEveryCrash, expectCrashPropagated } from '../../helpers/crash-replay.js';
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
  /** What the Key Vault secret holds at the start: the hand-made secret, or (`earlierRotations`) the newer of two Rotor-made ones. */
  readonly holds: { readonly keyId: string; readonly secretText: string };
  /** `earlierRotations`: the older Rotor-made secret, which the next rotation prunes. */
  readonly older?: string;
  readonly secret: ManagedSecret;
}

/**
 * An app registration with one client secret made by hand, and the Key Vault
 * secret holding it, tagged by its owner. `CredentialId` (Microsoft's sample
 * tag) names the hand-made secret's key id when `withCredentialId`; otherwise
 * Rotor finds it by its hint. `earlierRotations` leaves the app as two
 * completed rotations without revoke-after would: two client secrets named
 * for this Key Vault secret, the Key Vault secret holding the newer one.
 */
async function entraSecret(
  options: { readonly tags?: Record<string, string>; readonly withCredentialId?: boolean; readonly earlierRotations?: boolean } = {},
): Promise<EntraSetup> {
  const app = azure.standIn.admin.addApplication({ displayName: 'erp-integration', passwords: [{ displayName: 'created by hand' }] });
  const original = app.passwordCredentials[0]!;
  const name = uniqueName('entra');
  const ref = { vaultUrl: azure.ground.vaultUrl, name };
  const older = options.earlierRotations === true ? azure.standIn.admin.addPassword(app.appId, { displayName: passwordDisplayName(ref, 'earlier-1') }) : undefined;
  const holds = options.earlierRotations === true ? azure.standIn.admin.addPassword(app.appId, { displayName: passwordDisplayName(ref, 'earlier-2') }) : original;
  const secret = await writeManagedSecret(azure, name, holds.secretText, {
    'rotor-rotator': 'entra-app-secret',
    'rotor-target': app.appId,
    ValidityPeriodDays: '90',
    'rotor-grace': 'PT10M',
    'rotor-health': azure.ground.consumer.healthUrl(name),
    team: 'erp',
    ...(options.withCredentialId === true ? { CredentialId: original.keyId } : {}),
    ...(options.earlierRotations === true ? { 'rotor-slot': holds.keyId, 'rotor-rotation': 'earlier-2' } : {}),
    ...options.tags,
  });
  return {
    appId: app.appId,
    original: { keyId: original.keyId, secretText: original.secretText },
    holds: { keyId: holds.keyId, secretText: holds.secretText },
    ...(older === undefined ? {} : { older: older.keyId }),
    secret,
  };
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
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire', ...(revoke ? ['revoke'] : [])]);
    const ours = passwordsOf(appId).filter((p) => p.displayName === passwordDisplayName(secret.ref, rotation.id));
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

  it('without revoke-after, three rotations leave this Key Vault secret N-1 and N; the hand-made secret and another Key Vault secret\'s survive; a fourth rolls back to N', async () => {
    // Prepare: a second Key Vault secret rotates a client secret of the same app
    const { appId, original, secret } = await entraSecret();
    const batchOriginal = azure.standIn.admin.addPassword(appId, { displayName: 'for the batch job' });
    const batch = await writeManagedSecret(azure, uniqueName('entra-batch'), batchOriginal.secretText, { 'rotor-rotator': 'entra-app-secret', 'rotor-target': appId });
    const world = await createAzureWorld(azure, { memoryLedger: true });
    const valueOf = async (s: ManagedSecret) => (await azure.ground.client.getSecret(s.ref.name)).value!;
    const ours = () => passwordsOf(appId).filter((p) => p.displayName?.startsWith(passwordDisplayNamePrefix(secret.ref)) === true);
    expect((await rotateThroughEngine(world, batch)).status).toBe('Completed');
    const batchRotated = await valueOf(batch);

    // Act: three rotations, then one the consumer refuses
    const held: string[] = [];
    for (let n = 1; n <= 3; n += 1) {
      expect((await rotateThroughEngine(world, secret)).status).toBe('Completed');
      held.push(await valueOf(secret));
      expect(ours()).toHaveLength(Math.min(n, 2));
    }
    const afterThree = passwordsOf(appId).map((p) => p.secretText).sort();
    azure.ground.consumer.accept(secret.ref.name, (value) => value === held[2]);
    const rolledBack = await rotateThroughEngine(world, secret);

    // Assess: after three, the app held N-1 and N of this secret, the hand-made one, and the batch secret's two
    expect(afterThree).toEqual([held[1], held[2], original.secretText, batchOriginal.secretText, batchRotated].sort());
    expect(await accepted(appId, held[0]!)).toBe(false);
    // ... and the rolled-back fourth pruned N-1, then removed its own: N is latest again and works
    expect(rolledBack.status).toBe('RolledBack');
    expect(await valueOf(secret)).toBe(held[2]);
    expect(passwordsOf(appId).map((p) => p.secretText).sort()).toEqual([held[2], original.secretText, batchOriginal.secretText, batchRotated].sort());
    expect(await accepted(appId, held[2]!)).toBe(true);
    expect(await accepted(appId, batchRotated)).toBe(true);
    expectNoSecretIn(await everythingWritten(world), [original.secretText, batchOriginal.secretText, batchRotated, ...held]);
  });

  it('leaves no orphan when Graph added the secret but the answer was lost: the retried promote (which mints) removes it and adds one', async () => {
    // Prepare
    const { appId, original, secret } = await entraSecret();
    azure.standIn.admin.inject({ kind: 'drop', method: 'POST', pathIncludes: '/addPassword', times: 1 });
    const world = await createAzureWorld(azure);

    // Act
    const rotation = await rotateThroughEngine(world, secret);

    // Assess
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.map((s) => `${s.step}:${s.outcome}`)).toContain('promote:retrying');
    const latest = await azure.ground.client.getSecret(secret.ref.name);
    const ours = passwordsOf(appId).filter((p) => p.displayName === passwordDisplayName(secret.ref, rotation.id));
    expect(ours.map((p) => p.secretText)).toEqual([latest.value]);
    expect(passwordsOf(appId)).toHaveLength(2);
    expect(await accepted(appId, original.secretText)).toBe(true);
  });

  it.each([
    { case: 'completes and revokes', consumerBreaks: false, earlierRotations: false, passwords: ['new'] },
    { case: 'rolls back', consumerBreaks: true, earlierRotations: false, passwords: ['hand-made'] },
    { case: 'completes and prunes the secret older than the one in use', consumerBreaks: false, earlierRotations: true, passwords: ['hand-made', 'in-use', 'new'] },
    { case: 'rolls back after pruning', consumerBreaks: true, earlierRotations: true, passwords: ['hand-made', 'in-use'] },
  ])('a rotation that $case leaves no orphaned client secret, and keeps the one in use, after a crash at every write (I4)', async ({ consumerBreaks, earlierRotations, passwords: expected }) => {
    // Act
    const report = await replayEveryCrash<{ world: AzureWorld; setup: EntraSetup }, unknown>({
      createWorld: async (crash) => {
        const setup = await entraSecret(earlierRotations ? { earlierRotations } : { tags: { 'rotor-revoke-after': 'PT1H' }, withCredentialId: true });
        if (consumerBreaks) azure.ground.consumer.accept(setup.secret.ref.name, (value) => value === setup.holds.secretText);
        return { world: await createAzureWorld(azure, { crash, maxStepAttempts: 2, memoryLedger: true }), setup };
      },
      run: async ({ world, setup }) => {
        await rotateThroughEngine(world, setup.secret, 'event');
      },
      snapshot: async ({ world, setup }) => {
        const latest = (await azure.ground.client.getSecret(setup.secret.ref.name)).value!;
        expectNoSecretIn(await everythingWritten(world), [setup.original.secretText, setup.holds.secretText, latest]);
        const passwords = passwordsOf(setup.appId);
        const prefix = passwordDisplayNamePrefix(setup.secret.ref);
        const roleOf = (p: (typeof passwords)[number]): string =>
          p.keyId === setup.original.keyId
            ? 'hand-made'
            : p.keyId === setup.older
              ? 'older'
              : p.keyId === setup.holds.keyId
                ? 'in-use'
                : p.displayName?.startsWith(prefix) === true
                  ? 'new'
                  : 'other';
        return {
          engine: await engineSnapshot(azure, world, setup.secret),
          // Every client secret the app has, by who made it; the count is the orphan check.
          passwords: passwords.map(roleOf).sort(),
          latestIsAPassword: passwords.some((p) => p.secretText === latest),
          latestAccepted: await accepted(setup.appId, latest),
          startingSecretAccepted: await accepted(setup.appId, setup.holds.secretText),
        };
      },
    });

    // Assess
    expect(report.writes).toBeGreaterThan(10);
    expect(report.clean).toMatchObject({
      engine: { status: consumerBreaks ? 'RolledBack' : 'Completed' },
      passwords: expected,
      latestIsAPassword: true,
      latestAccepted: true,
      startingSecretAccepted: consumerBreaks || earlierRotations,
    });
    expect(report.cleanWrites).toContain('rotator(entra-app-secret).prepare');
    if (consumerBreaks) expect(report.cleanWrites).toContain('rotator(entra-app-secret).restore');
    if (!earlierRotations && !consumerBreaks) expect(report.cleanWrites).toContain('rotator(entra-app-secret).revoke');
    for (const replay of report.cases) {
      expectCrashPropagated(replay);
      expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
    }
  });
});
