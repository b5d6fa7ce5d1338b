import { ServiceBusClient } from '@azure/service-bus';
import type { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildKeyVaultEvent } from '../../emulators/keyvault/events.js';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { INTAKE_SUBSCRIPTION, startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { stepSessionId } from '../../src/queue/step-message.js';
import { Strategy } from '../../src/rotation/model.js';
import { createRandomRotator } from '../../src/rotators/random/random-rotator.js';
import { createFakeProvider } from '../helpers/fakes/provider-rotator.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

/**
 * The ways in end to end, through the local stack over real HTTP and AMQP:
 * Key Vault emulator → Event Grid emulator → the local host's webhook → the
 * intake → the engine on the Service Bus emulator and Azurite → notifications
 * on the Event Grid emulator's topic. The sweep runs on demand.
 */

const DAY = 86_400_000;
const sink = createMemorySink();
let stack: LocalStack;
let client: SecretClient;
let vaultUrl: string;
const values: string[] = [];

/** A provider in this process that can revoke, so a rotation can wait at revoke (revoke-after) on the emulators. */
const revocableInitial = `initial-revocable-${Math.random().toString(36).slice(2)}`;
const revocable = createFakeProvider({ kind: 'revocable', strategy: Strategy.Single, initial: revocableInitial });

const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped']);

beforeAll(async () => {
  stack = await startLocalStack({
    log: createLogger(sink, { level: 'debug' }),
    demo: false,
    timers: 'manual',
    eventGridRetryTimeScale: 0.001,
    keyVaultThrottle: false,
    // Retries wait long enough that a rotation can be caught mid-retry (the dead-letter case).
    engineSettings: { backoff: { baseMs: 20_000, maxMs: 20_000 } },
    keyVaultBackoffMs: [10, 20],
    rotators: [createRandomRotator(), revocable.rotator],
  });
  client = createEmulatorSecretClient(stack.emulators.keyVault);
  vaultUrl = new URL(stack.emulators.keyVault.url).origin;
});

afterAll(async () => {
  await stack?.stop();
});

async function api(path: string, init: { method?: string; body?: unknown; key?: string | null; raw?: string } = {}) {
  const key = init.key === undefined ? stack.host.functionKey : init.key;
  const res = await fetch(`${stack.host.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-functions-key': key }) },
    ...(init.raw !== undefined ? { body: init.raw } : init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), location: res.headers.get('location'), text, body: text === '' ? undefined : JSON.parse(text) };
}

/** Polls until `probe` answers; the test's own timeout bounds it. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface RotationSummaryView {
  readonly id: string;
  readonly status: string;
}
const history = async (name: string): Promise<RotationSummaryView[]> => (await api(`/secrets/${name}/rotations?limit=100`)).body.items;
const ended = (id: string) =>
  eventually(async () => {
    const { body } = await api(`/rotations/${id}`);
    return terminal.has(body.status) ? body : undefined;
  });
const notifications = (rotationId: string): string[] =>
  stack.emulators.eventGrid.admin
    .published({ topic: 'rotor-notifications' })
    .map((r) => r.event as { type: string; data: { rotationId: string } })
    .filter((e) => e.data.rotationId === rotationId)
    .map((e) => e.type);

async function managedSecret(name: string, options: { expiresInDays?: number; tags?: Record<string, string> } = {}) {
  const value = `initial-${name}-${Math.random().toString(36).slice(2)}`;
  values.push(value);
  return client.setSecret(name, value, {
    tags: options.tags ?? { 'rotor-rotator': 'random', 'rotor-grace': 'PT0S' },
    ...(options.expiresInDays === undefined ? {} : { expiresOn: new Date(Date.now() + options.expiresInDays * DAY) }),
  });
}

describe('Event Grid subscriptions to the intake', () => {
  it.each(['EventGridSchema', 'CloudEventSchemaV1_0'] as const)('complete the %s validation handshake with the local host', async (schema) => {
    // Act
    const subscription = await stack.emulators.eventGrid.admin.createSubscription({
      name: `handshake-${schema === 'EventGridSchema' ? 'eg' : 'ce'}`,
      endpointUrl: stack.host.eventGridWebhookUrl('keyVaultEvents'),
      eventDeliverySchema: schema,
      // A type Key Vault never sends: this subscription only proves the handshake.
      filter: { includedEventTypes: ['Rotor.Test.Never'] },
    });

    // Assess
    expect(subscription).toMatchObject({ provisioningState: 'Succeeded', validatedBy: 'handshake' });
  });
});

describe('a Key Vault event', () => {
  it('rotates the secret to completion and notifies', async () => {
    // Prepare
    const written = await managedSecret('event-driven', { expiresInDays: 10 });

    // Act: writing an expiry within 30 days makes the vault publish SecretNearExpiry.
    const [first] = await eventually(async () => ((await history('event-driven')).length > 0 ? history('event-driven') : undefined));
    const rotation = await ended(first!.id);

    // Assess
    expect(rotation).toMatchObject({ status: 'Completed', trigger: { kind: 'event', version: written.properties.version } });
    // The notification goes out just after the ledger records the end.
    await eventually(() => Promise.resolve(notifications(first!.id).includes('Rotor.Rotation.Completed') ? true : undefined));
    const latest = await client.getSecret('event-driven');
    expect(latest.properties.version).not.toBe(written.properties.version);
  });

  it('starts one rotation however often and in whatever order its events arrive', async () => {
    // Prepare: a second subscription in CloudEvents schema doubles every delivery.
    await stack.emulators.eventGrid.admin.createSubscription({
      name: 'intake-cloudevents',
      endpointUrl: stack.host.eventGridWebhookUrl('keyVaultEvents'),
      eventDeliverySchema: 'CloudEventSchemaV1_0',
      filter: { includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'] },
    });
    stack.emulators.eventGrid.admin.injectDuplicates({ remaining: 3 });
    const written = await managedSecret('often-delivered', { expiresInDays: 5 });
    const version = written.properties.version!;
    const source = { vaultUrl, vaultName: stack.emulators.keyVault.vaultName, subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'rotor-local' };
    const event = (type: 'Microsoft.KeyVault.SecretNearExpiry' | 'Microsoft.KeyVault.SecretExpired') =>
      buildKeyVaultEvent(source, type, { name: 'often-delivered', version, nbf: undefined, exp: Math.floor(Date.now() / 1000) }, new Date());

    // Act: Expired before a re-sent NearExpiry, while and after the rotation runs.
    stack.emulators.eventGrid.publish([event('Microsoft.KeyVault.SecretExpired'), event('Microsoft.KeyVault.SecretNearExpiry')]);
    const [first] = await eventually(async () => ((await history('often-delivered')).length > 0 ? history('often-delivered') : undefined));
    await ended(first!.id);
    stack.emulators.eventGrid.publish([event('Microsoft.KeyVault.SecretNearExpiry'), event('Microsoft.KeyVault.SecretExpired')]);
    await stack.emulators.eventGrid.admin.waitForIdle();
    stack.emulators.eventGrid.admin.deleteSubscription('intake-cloudevents');

    // Assess
    expect((await history('often-delivered')).map((r) => r.status)).toEqual(['Completed']);
    const deliveries = stack.emulators.eventGrid.admin.attempts().filter((a) => a.subscription === INTAKE_SUBSCRIPTION || a.subscription === 'intake-cloudevents');
    expect(deliveries.every((a) => a.status === 202)).toBe(true);
  });
});

describe('the operator API over HTTP', () => {
  beforeAll(async () => {
    await managedSecret('api-target', { expiresInDays: 80 });
    await managedSecret('api-busy', { expiresInDays: 80, tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT10M' } });
    await managedSecret('api-bad-policy', { expiresInDays: 80, tags: { 'rotor-rotator': 'random', 'rotor-validity': 'P1D' } });
    await managedSecret('api-plain', { tags: {} });
  });

  it('starts a rotation with 202 and a Location that polls to Completed', async () => {
    const started = await api('/rotations', { method: 'POST', body: { secret: 'api-target', reason: 'e2e' } });

    const rotation = await ended(started.body.rotationId);

    expect(started.status).toBe(202);
    expect(started.location).toBe(`${stack.host.apiUrl}/rotations/${started.body.rotationId}`);
    expect(rotation).toMatchObject({ status: 'Completed', trigger: { kind: 'manual', reason: 'e2e' } });
  });

  it('answers a dry run with 200 and a report, rotating nothing', async () => {
    const before = (await client.getSecret('api-target')).properties.version;

    const res = await api('/rotations', { method: 'POST', body: { secret: 'api-target', dryRun: true } });

    expect(res.status).toBe(200);
    expect(res.body.report).toMatchObject({ currentVersion: before, rotator: 'random' });
    expect((await client.getSecret('api-target')).properties.version).toBe(before);
  });

  it('answers 409 while a rotation of the secret is active', async () => {
    const first = await api('/rotations', { method: 'POST', body: { secret: 'api-busy' } });

    const second = await api('/rotations', { method: 'POST', body: { secret: 'api-busy' } });

    expect(first.status).toBe(202);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ type: 'urn:rotor:problem:rotation-active', activeRotationId: first.body.rotationId });
  });

  it.each([
    ['no key', { method: 'POST', body: { secret: 'api-target' }, key: null }, 401, undefined],
    ['a wrong key', { method: 'POST', body: { secret: 'api-target' }, key: 'wrong' }, 401, undefined],
    ['a body that is not JSON', { method: 'POST', raw: '{"secret":' }, 400, '(body)'],
    ['a misspelt field', { method: 'POST', body: { secret: 'api-target', dryrun: true } }, 400, 'dryrun'],
    ['a secret name Key Vault refuses', { method: 'POST', body: { secret: 'bad_name' } }, 400, 'secret'],
    ['dryRun that is not a boolean', { method: 'POST', body: { secret: 'api-target', dryRun: 'yes' } }, 400, 'dryRun'],
    ['a vault Rotor may not touch', { method: 'POST', body: { secret: 'api-target', vault: 'https://evil.vault.azure.net' } }, 422, 'vault'],
    ['a secret that does not exist', { method: 'POST', body: { secret: 'nowhere' } }, 404, 'secret'],
    ['a secret with no policy', { method: 'POST', body: { secret: 'api-plain' } }, 422, 'secret'],
    ['a secret with an invalid policy', { method: 'POST', body: { secret: 'api-bad-policy' } }, 422, 'rotor-validity'],
  ])('answers %s with %i and a problem naming the field', async (_case, request, status, field) => {
    const res = await api('/rotations', request);

    expect(res.status).toBe(status);
    if (field !== undefined) {
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status, instance: '/api/rotations' });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it.each([
    ['an unknown rotation', '/rotations/00000000000000000000000000000000', 404, 'id'],
    ['a malformed rotation id', '/rotations/..%2F..', 400, 'id'],
    ['a page size out of range', '/secrets/api-target/rotations?limit=0', 400, 'limit'],
  ])('answers %s with a problem', async (_case, path, status, field) => {
    const res = await api(path);

    expect(res.status).toBe(status);
    expect(res.body.errors[0].field).toBe(field);
  });

  it('lists the managed secrets with their current version and policy, and never a value', async () => {
    const res = await api('/secrets');
    const target = res.body.items.find((i: { name: string }) => i.name === 'api-target');

    expect(res.status).toBe(200);
    expect(target).toMatchObject({ currentVersion: (await client.getSecret('api-target')).properties.version, policy: { valid: true, rotator: 'random' } });
    expect(res.body.items.map((i: { name: string }) => i.name)).not.toContain('api-plain');
    expectNoSecretIn([res.text], values);
  });
});

describe('the sweep', () => {
  it('rotates a secret whose event was never delivered', async () => {
    // Prepare: the intake's subscription is gone while the secret gets its near expiry.
    const intake = stack.emulators.eventGrid.admin.getSubscription(INTAKE_SUBSCRIPTION)!;
    stack.emulators.eventGrid.admin.deleteSubscription(INTAKE_SUBSCRIPTION);
    const written = await managedSecret('missed-event', { expiresInDays: 3 });
    await stack.emulators.eventGrid.admin.waitForIdle();
    await stack.emulators.eventGrid.admin.createSubscription({ name: intake.name, endpointUrl: intake.endpointUrl, filter: intake.filter });
    expect(await history('missed-event')).toEqual([]);

    // Act
    await stack.host.runTimer('sweep');
    const [first] = await history('missed-event');
    const rotation = await ended(first!.id);

    // Assess
    expect(rotation).toMatchObject({ status: 'Completed', trigger: { kind: 'sweep', version: written.properties.version } });
  });
});

describe('a poisoned step message', () => {
  it('is dead-lettered, and the dead-letter handler ends its rotation (rolled back: promote may have written) with a notification', async () => {
    // Prepare: a rotation held in promote, retrying a vault that answers 503 to its write.
    await managedSecret('poisoned', { expiresInDays: 80 });
    const fault = stack.emulators.keyVault.admin.faults.inject({ operation: 'set', effect: { kind: 'status', status: 503 } });
    const started = await api('/rotations', { method: 'POST', body: { secret: 'poisoned' } });
    const rotationId: string = started.body.rotationId;
    await eventually(async () => ((await api(`/rotations/${rotationId}`)).body.steps.some((s: { step: string }) => s.step === 'promote') ? true : undefined));
    stack.emulators.keyVault.admin.faults.remove(fault.id);

    // Act: a message the step handler cannot read, in the secret's session.
    const sb = new ServiceBusClient(stack.emulators.serviceBus.connectionString);
    const sender = sb.createSender('rotation-steps');
    await sender.sendMessages({ body: 'not a step message', sessionId: stepSessionId({ vaultUrl, name: 'poisoned' }), messageId: 'poison-e2e' });
    await sender.close();
    await sb.close();
    const rotation = await ended(rotationId);

    // Assess
    expect(rotation.status).toBe('RolledBack');
    expect(rotation.reason).toContain('MaxDeliveryCountExceeded');
    await eventually(() => Promise.resolve(notifications(rotationId).includes('Rotor.Rotation.RolledBack') ? true : undefined));
    // The dead-letter trigger completed the message once its handler returned.
    await eventually(() => Promise.resolve(stack.emulators.serviceBus.admin.getCounters('rotation-steps').deadLetterQueue === 0 ? true : undefined));
  });
});

describe('a step dead-lettered after verify', () => {
  it('at retire ends Failed with the verified value kept as latest; the old credential is not restored', async () => {
    // Prepare: a rotation held at retire, retrying a vault that answers 503 to updates (disabling the old version).
    const initial = await managedSecret('poisoned-retire', { expiresInDays: 80 });
    const fault = stack.emulators.keyVault.admin.faults.inject({ operation: 'update', effect: { kind: 'status', status: 503 } });
    const started = await api('/rotations', { method: 'POST', body: { secret: 'poisoned-retire' } });
    const rotationId: string = started.body.rotationId;
    await eventually(async () => ((await api(`/rotations/${rotationId}`)).body.steps.some((s: { step: string }) => s.step === 'retire') ? true : undefined));
    stack.emulators.keyVault.admin.faults.remove(fault.id);

    // Act: a message the step handler cannot read, in the secret's session, is dead-lettered while retire waits.
    const sb = new ServiceBusClient(stack.emulators.serviceBus.connectionString);
    const sender = sb.createSender('rotation-steps');
    await sender.sendMessages({ body: 'not a step message', sessionId: stepSessionId({ vaultUrl, name: 'poisoned-retire' }), messageId: 'poison-retire-e2e' });
    await sender.close();
    await sb.close();
    const rotation = await ended(rotationId);

    // Assess
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('MaxDeliveryCountExceeded');
    expect(rotation.steps.map((s: { step: string }) => s.step)).not.toContain('rollback');
    expect(rotation.versions.restored).toBeUndefined();
    const latest = await client.getSecret('poisoned-retire');
    expect(latest.properties.version).toBe(rotation.versions.promoted);
    expect(latest.value).not.toBe(initial.value);
    const versions: string[] = [];
    for await (const v of client.listPropertiesOfSecretVersions('poisoned-retire')) versions.push(v.version ?? '');
    expect(versions.sort()).toEqual([initial.properties.version, rotation.versions.promoted].sort());
    await eventually(() => Promise.resolve(notifications(rotationId).includes('Rotor.Rotation.Failed') ? true : undefined));
    expect(notifications(rotationId)).not.toContain('Rotor.Rotation.RolledBack');
  });
  it('at revoke ends Failed with the verified value kept as latest; the old credential is not restored', async () => {
    // Prepare: revoke-after an hour, so the rotation waits at revoke (its message scheduled) once retire is done.
    values.push(revocableInitial);
    const initial = await client.setSecret('poisoned-revoke', revocableInitial, {
      tags: { 'rotor-rotator': 'revocable', 'rotor-grace': 'PT0S', 'rotor-revoke-after': 'PT1H' },
    });
    const started = await api('/rotations', { method: 'POST', body: { secret: 'poisoned-revoke' } });
    const rotationId: string = started.body.rotationId;
    await eventually(async () => ((await api(`/rotations/${rotationId}`)).body.step === 'revoke' ? true : undefined));

    // Act: a message the step handler cannot read, in the secret's session, is dead-lettered while revoke waits.
    const sb = new ServiceBusClient(stack.emulators.serviceBus.connectionString);
    const sender = sb.createSender('rotation-steps');
    await sender.sendMessages({ body: 'not a step message', sessionId: stepSessionId({ vaultUrl, name: 'poisoned-revoke' }), messageId: 'poison-revoke-e2e' });
    await sender.close();
    await sb.close();
    const rotation = await ended(rotationId);
    values.push(...revocable.issuedValues());

    // Assess
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('MaxDeliveryCountExceeded');
    expect(rotation.steps.map((s: { step: string }) => s.step)).not.toContain('rollback');
    expect(rotation.versions.restored).toBeUndefined();
    const latest = await client.getSecret('poisoned-revoke');
    expect(latest.properties.version).toBe(rotation.versions.promoted);
    expect(latest.value).not.toBe(initial.value);
    expect(revocable.accepts(latest.value!)).toBe(true);
    expect(revocable.accepts(revocableInitial)).toBe(false);
    expect(revocable.calls.restore).toBe(0);
    await eventually(() => Promise.resolve(notifications(rotationId).includes('Rotor.Rotation.Failed') ? true : undefined));
    expect(notifications(rotationId)).not.toContain('Rotor.Rotation.RolledBack');
  });
});

describe('secrecy across the ways in', () => {
  it('never writes a secret value to a log line or a notification', () => {
    const published = stack.emulators.eventGrid.admin.published({ topic: 'rotor-notifications' }).map((r) => JSON.stringify(r.event));

    expectNoSecretIn([...sink.records.map((r) => JSON.stringify(r)), ...published], values);
  });
});
