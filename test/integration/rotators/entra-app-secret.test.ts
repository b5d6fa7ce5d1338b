import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator, type FaultRule } from '../../../emulators/azure-management/index.js';
import { createEntraAppSecretRotator, passwordDisplayName, passwordDisplayNamePrefix } from '../../../src/rotators/entra-app-secret/index.js';
import type { PreparedCredential } from '../../../src/rotation/rotator.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { createRotationHarness, engineView, expectRotatorError, policyFor, type EngineView } from '../../helpers/rotator-harness.js';

describe('entra-app-secret rotator (Graph and token endpoint stand-in)', () => {
  let emulator: AzureManagementEmulator;
  const credential = createFakeCredential();
  const dayMs = 24 * 3600_000;

  beforeAll(async () => {
    emulator = await startAzureManagementEmulator();
  });
  afterAll(async () => {
    await emulator.stop();
  });

  const rotatorFor = () =>
    engineView(
      createEntraAppSecretRotator({
        credential,
        tenantId: emulator.tenantId,
        graphEndpoint: emulator.graphEndpoint,
        authorityHost: emulator.authorityHost,
        transport: { tls: { ca: emulator.ca }, retryDelayMs: 5 },
      }),
    );

  /** A fresh app registration with one hand-made secret that the Key Vault secret holds. */
  const setup = (options: { validityMs?: number } = {}) => {
    const app = emulator.admin.addApplication({ displayName: 'erp-integration', passwords: [{ displayName: 'created by hand' }] });
    const original = app.passwordCredentials[0]!;
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'entra-app-secret', target: app.appId, ...(options.validityMs === undefined ? {} : { validityMs: options.validityMs }) });
    const harness = createRotationHarness({ rotator, policy, initial: { value: original.secretText } });
    const passwords = () => emulator.admin.application(app.appId).passwordCredentials;
    const ours = (rotationId: string) => passwords().filter((p) => p.displayName === passwordDisplayName(harness.secret, rotationId));
    return { app, original, rotator, harness, passwords, ours };
  };

  /** One rotation as the engine runs it without revoke-after: prepare, promote, verify. */
  const rotate = async (rotator: EngineView, harness: ReturnType<typeof createRotationHarness>, rotationId: string): Promise<PreparedCredential> => {
    const prepared = await rotator.prepare(harness.context(rotationId));
    harness.promote(rotationId, prepared);
    expect(await rotator.test(harness.context(rotationId), prepared.value)).toEqual({ ok: true });
    return prepared;
  };

  it('adds a secret named after the Key Vault secret and the rotation, ending at now + validity; both secrets work until revoke', async () => {
    // Prepare
    const { original, rotator, harness, passwords, ours } = setup({ validityMs: 120 * dayMs });
    const before = Date.now();

    // Act
    const prepared = await rotator.prepare(harness.context('rot-a'));
    harness.promote('rot-a', prepared);

    // Assess
    const [added] = ours('rot-a');
    expect(added!.displayName).toMatch(/^rotor:[0-9a-f]{10}:rot-a$/);
    expect(passwords()).toHaveLength(2);
    expect(prepared.slot).toBe(added!.keyId);
    expect(prepared.value.reveal()).toBe(added!.secretText);
    expect(Date.parse(added!.endDateTime) - before).toBeGreaterThanOrEqual(120 * dayMs - 1000);
    expect(Date.parse(added!.endDateTime) - before).toBeLessThanOrEqual(120 * dayMs + 60_000);
    expect(await rotator.test(harness.context('rot-a'), prepared.value)).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-a'), SecretValue.from(original.secretText))).toEqual({ ok: true });
    expect(credential.scopes).toContain(`${emulator.graphEndpoint}/.default`);
  });

  it('the self-test reports a refused secret without echoing it', async () => {
    const { rotator, harness } = setup();
    const wrong = 'not-the-secret-of-this-app-0123456789';

    const result = await rotator.test(harness.context('rot-b'), SecretValue.from(wrong));

    expect(result).toMatchObject({ ok: false });
    expect(result.ok === false && result.reason).toContain('invalid_client (AADSTS7000215)');
    expectNoSecretIn([JSON.stringify(result)], [wrong]);
  });

  // Each row: a crash (a lost answer after Graph acted, or a completed call whose result the engine never saved)
  // at one step, then the engine's replay of that step. No row may leave a password behind that no version holds.
  const lostAnswer = (pathIncludes: string): FaultRule => ({ kind: 'drop', pathIncludes });

  it.each([
    { step: 'prepare: addPassword answer lost', fault: lostAnswer('/addPassword'), replays: 1 },
    { step: 'prepare: completed but not recorded, replayed twice', fault: undefined, replays: 2 },
    { step: 'prepare: cleanup removePassword answer lost', fault: undefined, replays: 1, dropCleanup: true },
  ])('prepare replay after a crash ($step) leaves exactly one secret of the rotation, and it works', async ({ fault, replays, dropCleanup }) => {
    // Prepare
    const { original, rotator, harness, passwords, ours } = setup();
    if (fault !== undefined) emulator.admin.inject(fault);
    const first = fault === undefined ? await rotator.prepare(harness.context('rot-c', 1)) : await expectRotatorError(rotator.prepare(harness.context('rot-c', 1)));
    let attempt = 1;
    let last: PreparedCredential | undefined;

    // Act: the engine re-runs prepare (a cleanup answer may be lost on the way, too)
    for (let i = 0; i < replays; i += 1) {
      attempt += 1;
      if (dropCleanup === true) {
        emulator.admin.inject(lostAnswer('/removePassword'));
        await expectRotatorError(rotator.prepare(harness.context('rot-c', attempt)));
        attempt += 1;
      }
      last = await rotator.prepare(harness.context('rot-c', attempt));
    }

    // Assess: the original secret plus one of this rotation; the returned value is the one that exists
    expect(ours('rot-c')).toHaveLength(1);
    expect(passwords().map((p) => p.keyId).sort()).toEqual([original.keyId, last!.slot].sort());
    expect(await rotator.test(harness.context('rot-c'), last!.value)).toEqual({ ok: true });
    if (fault === undefined) expect(await rotator.test(harness.context('rot-c'), (first as PreparedCredential).value)).toMatchObject({ ok: false });
  });

  it('a rotation begun before the upgrade and replayed after it removes the secret its first attempt named rotor:{rotationId}', async () => {
    // Prepare: the first attempt (older release) added a secret whose text is lost
    const { app, original, rotator, harness, passwords, ours } = setup();
    const lost = emulator.admin.addPassword(app.appId, { displayName: 'rotor:rot-q' });

    // Act
    const prepared = await rotator.prepare(harness.context('rot-q', 2));

    // Assess
    expect(ours('rot-q').map((p) => p.keyId)).toEqual([prepared.slot]);
    expect(passwords().map((p) => p.keyId).sort()).toEqual([original.keyId, prepared.slot].sort());
    expect(await rotator.test(harness.context('rot-q'), SecretValue.from(lost.secretText))).toMatchObject({ ok: false });
  });

  it.each([
    { step: 'first attempt', fault: undefined },
    { step: 'removePassword answer lost, then replayed', fault: lostAnswer('/removePassword') },
  ])('rollback removes the secret of the rotation and keeps the previous one ($step)', async ({ fault }) => {
    // Prepare
    const { original, rotator, harness, passwords } = setup();
    const previous = harness.current;
    const prepared = await rotator.prepare(harness.context('rot-d'));
    harness.promote('rot-d', prepared);

    // Act
    if (fault !== undefined) {
      emulator.admin.inject(fault);
      await expectRotatorError(rotator.restore!(harness.context('rot-d', 1), previous, prepared));
    }
    await rotator.restore!(harness.context('rot-d', 2), previous, prepared);
    await rotator.restore!(harness.context('rot-d', 3), previous, prepared);
    harness.restoreVersion(previous);

    // Assess
    expect(passwords().map((p) => p.keyId)).toEqual([original.keyId]);
    expect(await rotator.test(harness.context('rot-d'), previous.value)).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-d'), prepared.value)).toMatchObject({ ok: false });
  });

  it('rollback keeps the new secret when the previous one is gone, and says why', async () => {
    const { original, app, rotator, harness, passwords } = setup();
    const previous = harness.current;
    const prepared = await rotator.prepare(harness.context('rot-e'));
    emulator.admin.removePassword(app.appId, original.keyId);

    const error = await expectRotatorError(rotator.restore!(harness.context('rot-e'), previous, prepared));

    expect(error).toMatchObject({ code: 'ProviderRejected', transient: false });
    expect(passwords().map((p) => p.keyId)).toEqual([prepared.slot]);
  });

  it.each([
    { how: 'by the hint of a hand-made secret (no slot tag)', rotations: 1 },
    { how: 'by the slot the engine recorded', rotations: 2 },
  ])('revoke-after removes the superseded secret $how, idempotently', async ({ rotations }) => {
    // Prepare: one or two completed rotations
    const { rotator, harness, passwords } = setup();
    for (let i = 1; i <= rotations; i += 1) harness.promote(`rot-f${i}`, await rotator.prepare(harness.context(`rot-f${i}`)));
    const superseded = harness.history.at(-2)!;
    const countBefore = passwords().length;

    // Act: revoke, then the same message again after a lost answer
    emulator.admin.inject(lostAnswer('/removePassword'));
    await expectRotatorError(rotator.revoke!(harness.context('rot-fx', 1), superseded));
    await rotator.revoke!(harness.context('rot-fx', 2), superseded);
    await rotator.revoke!(harness.context('rot-fx', 3), superseded);

    // Assess
    expect(passwords()).toHaveLength(countBefore - 1);
    expect(await rotator.test(harness.context('rot-fx'), superseded.value)).toMatchObject({ ok: false });
    expect(await rotator.test(harness.context('rot-fx'), harness.current.value)).toEqual({ ok: true });
  });

  it('revoke refuses to guess when two hand-made secrets share the superseded hint', async () => {
    const app = emulator.admin.addApplication({ passwords: [{ secretText: 'abc8Q~first-hand-made-secret-000000000' }, { secretText: 'abc8Q~second-hand-made-secret-00000000' }] });
    const rotator = rotatorFor();
    const harness = createRotationHarness({ rotator, policy: policyFor({ rotator: 'entra-app-secret', target: app.appId }), initial: { value: 'abc8Q~first-hand-made-secret-000000000' } });
    const superseded = harness.current;
    harness.promote('rot-k', await rotator.prepare(harness.context('rot-k')));

    const error = await expectRotatorError(rotator.revoke!(harness.context('rot-k'), superseded));

    expect(error).toMatchObject({ code: 'InvalidConfiguration' });
    expect(emulator.admin.application(app.appId).passwordCredentials).toHaveLength(3);
  });

  it('revoke refuses to remove the secret the latest version holds', async () => {
    const { rotator, harness } = setup();
    harness.promote('rot-g', await rotator.prepare(harness.context('rot-g')));

    const error = await expectRotatorError(rotator.revoke!(harness.context('rot-g'), harness.current));

    expect(error).toMatchObject({ code: 'InvalidConfiguration' });
  });

  it('a full cycle leaves no orphaned secrets and logs no secret text', async () => {
    const { original, rotator, harness, passwords } = setup();
    const values = [original.secretText];

    for (const id of ['rot-h1', 'rot-h2', 'rot-h3']) {
      const superseded = harness.current;
      const prepared = await rotator.prepare(harness.context(id));
      values.push(prepared.value.reveal());
      harness.promote(id, prepared);
      expect(await rotator.test(harness.context(id), prepared.value)).toEqual({ ok: true });
      await rotator.revoke!(harness.context(id), superseded);
    }

    expect(passwords().map((p) => p.keyId)).toEqual([harness.current.slot]);
    expectNoSecretIn(harness.logText(), values);
  });

  /**
   * One app, two Key Vault secrets rotating its client secrets (each began with
   * one made by hand), and a secret an older release named `rotor:{rotationId}`.
   */
  const sharedApp = () => {
    const app = emulator.admin.addApplication({
      displayName: 'erp-integration',
      passwords: [{ displayName: 'created by hand' }, { displayName: 'for the batch job' }, { displayName: 'rotor:0123456789abcdef0123456789abcdef' }],
    });
    const [handMade, batchHandMade, legacy] = app.passwordCredentials;
    const rotator = rotatorFor();
    const policy = policyFor({ rotator: 'entra-app-secret', target: app.appId });
    const harness = createRotationHarness({ rotator, policy, initial: { value: handMade!.secretText } });
    const batch = createRotationHarness({ rotator, policy, secretName: 'batch-credential', initial: { value: batchHandMade!.secretText } });
    const passwords = () => emulator.admin.application(app.appId).passwordCredentials;
    const keyIds = () => passwords().map((p) => p.keyId).sort();
    const rotorMade = (of: typeof harness) => passwords().filter((p) => p.displayName?.startsWith(passwordDisplayNamePrefix(of.secret)) === true);
    return { app, untouchable: [handMade!.keyId, batchHandMade!.keyId, legacy!.keyId], rotator, harness, batch, passwords, keyIds, rotorMade };
  };

  it('without revoke-after, each rotation removes what came before the secret in use: the app keeps N-1 and N, and nothing of anyone else', async () => {
    // Prepare: the other Key Vault secret has a Rotor-made client secret on the same app
    const { untouchable, rotator, harness, batch, keyIds, rotorMade } = sharedApp();
    const batchFirst = await rotate(rotator, batch, 'batch-1');
    const made: PreparedCredential[] = [];

    // Act: three rotations of this Key Vault secret, then one of the other
    for (const id of ['rot-l1', 'rot-l2', 'rot-l3']) {
      made.push(await rotate(rotator, harness, id));
      expect(rotorMade(harness)).toHaveLength(Math.min(made.length, 2));
    }
    const batchSecond = await rotate(rotator, batch, 'batch-2');

    // Assess: this secret's N-1 and N; the hand-made ones, the other secret's and the pre-upgrade one are all still there
    expect(rotorMade(harness).map((p) => p.keyId).sort()).toEqual([made[1]!.slot, made[2]!.slot].sort());
    expect(keyIds()).toEqual([...untouchable, made[1]!.slot, made[2]!.slot, batchFirst.slot, batchSecond.slot].sort());
    expect(await rotator.test(harness.context('rot-l3'), made[1]!.value)).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-l3'), made[0]!.value)).toMatchObject({ ok: false });
    expect(harness.logs.filter((r) => r.message.startsWith('removed a client secret an earlier rotation')).map((r) => r.fields.keyId)).toEqual([made[0]!.slot]);
    expectNoSecretIn([...harness.logText(), ...batch.logText()], [...made, batchFirst, batchSecond].map((p) => p.value.reveal()));
  });

  it('a replayed prepare keeps the secret in use and removes only the older one', async () => {
    // Prepare: two completed rotations; the third's prepare completes but is not recorded
    const { rotator, harness, rotorMade } = sharedApp();
    const [first, second] = [await rotate(rotator, harness, 'rot-m1'), await rotate(rotator, harness, 'rot-m2')];
    await rotator.prepare(harness.context('rot-m3', 1));

    // Act
    const replayed = await rotator.prepare(harness.context('rot-m3', 2));

    // Assess
    expect(rotorMade(harness).map((p) => p.keyId).sort()).toEqual([second.slot, replayed.slot].sort());
    expect(await rotator.test(harness.context('rot-m3'), harness.current.value)).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-m3'), first.value)).toMatchObject({ ok: false });
  });

  it('rollback after a prune restores a working previous secret: the app keeps only the one in use of this Key Vault secret', async () => {
    // Prepare: two completed rotations, then a third that is prepared and promoted
    const { untouchable, rotator, harness, keyIds } = sharedApp();
    const [first, second] = [await rotate(rotator, harness, 'rot-n1'), await rotate(rotator, harness, 'rot-n2')];
    const previous = harness.current;
    const third = await rotator.prepare(harness.context('rot-n3'));
    harness.promote('rot-n3', third);

    // Act
    await rotator.restore!(harness.context('rot-n3'), previous, third);
    harness.restoreVersion(previous);

    // Assess
    expect(keyIds()).toEqual([...untouchable, second.slot].sort());
    expect(await rotator.test(harness.context('rot-n3'), harness.current.value)).toEqual({ ok: true });
    expect(await rotator.test(harness.context('rot-n3'), third.value)).toMatchObject({ ok: false });
    expect(await rotator.test(harness.context('rot-n3'), first.value)).toMatchObject({ ok: false });
  });

  it.each<{ case: string; current: (slot: string) => { value: string; slot?: string }; why: string }>([
    { case: 'its value matches no client secret', current: () => ({ value: '!!!8Q~value-no-client-secret-of-this-app' }), why: 'no client secret matches' },
    { case: 'its recorded key id is not on the app', current: () => ({ value: '!!!8Q~value-no-client-secret-of-this-app', slot: '6a3c1e9e-0c57-4b8e-9a49-2d1d2c3e4f50' }), why: 'is not on the app' },
    { case: 'its recorded key id is another secret\'s', current: (slot: string) => ({ value: '!!!8Q~value-no-client-secret-of-this-app', slot }), why: 'belongs to another client secret' },
  ])('prune removes nothing, and says why, when the secret in use cannot be identified: $case', async ({ current, why }) => {
    // Prepare: two completed rotations, then the Key Vault secret is changed by hand
    const { rotator, harness, rotorMade } = sharedApp();
    const first = await rotate(rotator, harness, 'rot-p1');
    await rotate(rotator, harness, 'rot-p2');
    const { value, slot } = current(first.slot!);
    harness.restoreVersion({ version: 'by-hand', value: SecretValue.from(value), tags: slot === undefined ? {} : { 'rotor-slot': slot }, ...(slot === undefined ? {} : { slot }) });

    // Act
    await rotator.prepare(harness.context('rot-p3'));

    // Assess
    expect(rotorMade(harness)).toHaveLength(3);
    const warning = harness.logs.find((r) => r.level === 'warn' && r.message.includes('cannot tell which one the current version holds'));
    expect(warning?.fields).toMatchObject({ why: expect.stringContaining(why), kept: 2 });
    expectNoSecretIn(harness.logText(), [value]);
  });

  it('retries a throttled Graph call that says when, and surfaces a 403 as PermissionDenied', async () => {
    const { app, rotator, harness } = setup();
    emulator.admin.inject({ kind: 'throttle', pathIncludes: `/applications(appId='${app.appId}')`, retryAfterSeconds: 0, method: 'GET' });
    const prepared = await rotator.prepare(harness.context('rot-i'));
    emulator.admin.inject({ kind: 'fail', status: 403, pathIncludes: '/addPassword' });
    const error = await expectRotatorError(rotator.prepare(harness.context('rot-j')));

    expect(prepared.slot).toBeDefined();
    expect(error).toMatchObject({ code: 'PermissionDenied', transient: false });
  });

  it.each<{ case: string; target?: string; tags: Record<string, string>; tag: string }>([
    { case: 'no target', tags: {}, tag: 'rotor-target' },
    { case: 'a display name as target', target: 'erp-integration', tags: {}, tag: 'rotor-target' },
    { case: 'a malformed tenant', target: '6a3c1e9e-0c57-4b8e-9a49-2d1d2c3e4f50', tags: { 'rotor-entra-tenant': 'not a tenant' }, tag: 'rotor-entra-tenant' },
  ])('validate names the tag for $case', ({ target, tags, tag }) => {
    const problems = rotatorFor().validate(policyFor({ rotator: 'entra-app-secret', ...(target === undefined ? {} : { target }), tags }));

    expect(problems.map((p) => p.tag)).toContain(tag);
  });

  it('validate asks for a tenant when Rotor has no default one', () => {
    const rotator = engineView(createEntraAppSecretRotator({ credential, graphEndpoint: emulator.graphEndpoint }));

    const problems = rotator.validate(policyFor({ rotator: 'entra-app-secret', target: '6a3c1e9e-0c57-4b8e-9a49-2d1d2c3e4f50' }));

    expect(problems).toEqual([{ tag: 'rotor-entra-tenant', message: expect.stringContaining('required') }]);
  });
});
