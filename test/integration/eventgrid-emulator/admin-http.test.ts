import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventGridEmulator, type EventGridEmulator } from '../../../emulators/eventgrid/index.js';
import expired from '../../fixtures/eventgrid-emulator/keyvault-secret-expired.json' with { type: 'json' };
import { parseJson, startWebhookReceiver, validatingResponder, type WebhookReceiver } from './webhook-receiver.js';

describe('Event Grid emulator: admin HTTP routes', () => {
  let eventGrid: EventGridEmulator;
  let webhook: WebhookReceiver;

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${eventGrid.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  beforeAll(async () => {
    webhook = await startWebhookReceiver(validatingResponder(200));
    eventGrid = await startEventGridEmulator({
      retryTimeScale: 0.001,
      subscriptions: [{ name: 'configured-at-start', endpointUrl: webhook.url, filter: { includedEventTypes: ['Microsoft.KeyVault.SecretExpired'] } }],
    });
  });

  afterAll(async () => {
    await eventGrid.stop();
    await webhook.close();
  });

  it('creates subscriptions given at start, with their handshake done before start resolves', async () => {
    // Act
    const response = await call('GET', '/_admin/subscriptions');

    // Assess
    expect(await response.json()).toMatchObject([{ name: 'configured-at-start', provisioningState: 'Succeeded', topic: 'keyvault-system-topic' }]);
    expect(webhook.requests[0]?.headers['aeg-event-type']).toBe('SubscriptionValidation');
  });

  it('publishes system events posted to /_admin/system-events and delivers them', async () => {
    // Act
    const response = await call('POST', '/_admin/system-events', [expired]);
    await eventGrid.admin.waitForIdle();
    const published = await call('GET', `/_admin/published?topic=${eventGrid.systemTopicName}`);

    // Assess
    expect(response.status).toBe(200);
    expect(webhook.notifications().map((n) => parseJson(n)[0])).toEqual([expired]);
    expect(((await published.json()) as { event: { id: string } }[]).map((r) => r.event.id)).toEqual([expired.id]);
  });

  it.each<[string, string, string, unknown, number, string | undefined]>([
    ['a system event without subject', 'POST', '/_admin/system-events', [{ ...expired, subject: undefined }], 400, '[0].subject'],
    ['a system event body that is not an array', 'POST', '/_admin/system-events', expired, 400, '(body)'],
    ['a body that is not JSON', 'POST', '/_admin/subscriptions', '{nope', 400, '(body)'],
    ['a key name that does not exist', 'POST', '/_admin/topics/rotor-notifications/regenerate-key', { keyName: 'key3' }, 400, 'keyName'],
    ['a key of an unknown topic', 'POST', '/_admin/topics/nope/regenerate-key', { keyName: 'key1' }, 404, undefined],
    ['an unknown subscription', 'GET', '/_admin/subscriptions/nope', undefined, 404, undefined],
    ['deleting an unknown subscription', 'DELETE', '/_admin/subscriptions/nope', undefined, 404, undefined],
    ['an unknown admin route', 'GET', '/_admin/nothing', undefined, 404, undefined],
    ['an unknown path', 'GET', '/elsewhere', undefined, 404, undefined],
    ['a path that is not URL-encoded correctly', 'GET', '/_admin/subscriptions/%E0%A4%A', undefined, 400, undefined],
  ])('answers %s with problem+json %i', async (_case, method, path, body, status, field) => {
    // Act
    const response = await call(method, path, body);

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { status: number; errors?: { field: string }[] };
    expect(problem.status).toBe(status);
    if (field !== undefined) expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it('lists topics with endpoints and keys, and regenerates a key', async () => {
    // Prepare
    const before = (await (await call('GET', '/_admin/topics')).json()) as { name: string; key2?: string; endpoint?: string }[];

    // Act
    const regenerated = await call('POST', '/_admin/topics/rotor-notifications/regenerate-key', { keyName: 'key2' });
    const after = (await (await call('GET', '/_admin/topics')).json()) as { name: string; key2?: string }[];

    // Assess
    const body = (await regenerated.json()) as { keyName: string; key: string };
    expect(before.map((t) => t.name)).toEqual(['keyvault-system-topic', 'rotor-notifications']);
    expect(before[1]?.endpoint).toBe(eventGrid.topicEndpoint);
    expect(body.keyName).toBe('key2');
    expect(after[1]?.key2).toBe(body.key);
    expect(body.key).not.toBe(before[1]?.key2);
  });

  it('deletes a subscription with 204', async () => {
    // Prepare
    const extra = await startWebhookReceiver(validatingResponder(200));
    await eventGrid.admin.createSubscription({ name: 'to-delete', endpointUrl: extra.url });

    // Act
    const response = await call('DELETE', '/_admin/subscriptions/to-delete');
    await extra.close();

    // Assess
    expect(response.status).toBe(204);
    expect(eventGrid.admin.getSubscription('to-delete')).toBeUndefined();
  });
});
