import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import {
  isEventGridEmulatorError,
  isSubscriptionValidationError,
  startEventGridEmulator,
  type EventGridEmulator,
  type SubscriptionOptions,
} from '../../../emulators/eventgrid/index.js';
import nearExpiry from '../../fixtures/eventgrid-emulator/keyvault-secret-near-expiry.json' with { type: 'json' };
import { answerHandshake, parseJson, startWebhookReceiver, validatingResponder, type Reply, type WebhookReceiver } from './webhook-receiver.js';

const deserializer = new EventGridDeserializer();

describe('Event Grid emulator: subscription validation handshake', () => {
  let eventGrid: EventGridEmulator;
  const receivers: WebhookReceiver[] = [];
  let nameCounter = 0;

  async function receiver(respond: Parameters<typeof startWebhookReceiver>[0]): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(respond);
    receivers.push(started);
    return started;
  }

  function uniqueName(prefix: string): string {
    nameCounter += 1;
    return `${prefix}-${nameCounter}`;
  }

  async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected the promise to reject');
  }

  beforeAll(async () => {
    eventGrid = await startEventGridEmulator({ retryTimeScale: 0.001, manualValidationWindowMs: 10_000 });
  });

  afterAll(async () => {
    await eventGrid.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  describe('Event Grid schema', () => {
    it('posts a real SubscriptionValidationEvent and creates the subscription when the code is echoed', async () => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));
      const name = uniqueName('eg-valid');

      // Act
      const info = await eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url });

      // Assess
      expect(info).toMatchObject({ name, provisioningState: 'Succeeded', validatedBy: 'handshake', eventDeliverySchema: 'EventGridSchema' });
      const [validation] = webhook.requests;
      expect(validation?.method).toBe('POST');
      expect(validation?.headers).toMatchObject({
        'aeg-event-type': 'SubscriptionValidation',
        'aeg-subscription-name': name.toUpperCase(),
        'content-type': 'application/json; charset=utf-8',
      });
      const events = await deserializer.deserializeEventGridEvents(validation!.body);
      expect(events).toHaveLength(1);
      expect(isSystemEvent('Microsoft.EventGrid.SubscriptionValidationEvent', events[0]!)).toBe(true);
      const data = parseJson(validation!)[0].data;
      expect(data.validationCode).toMatch(/^[0-9a-f-]{36}$/);
      expect(data.validationUrl).toContain(`${eventGrid.url}/_validation/`);
    });

    it.each<[string, (code: string) => Reply]>([
      ['answers 403', () => ({ status: 403 })],
      ['answers 500', () => ({ status: 500 })],
      ['answers 202 with the right code (only 200 counts)', (code) => ({ status: 202, body: JSON.stringify({ validationResponse: code }) })],
      ['echoes the wrong code', () => ({ status: 200, body: JSON.stringify({ validationResponse: 'not-the-code' }) })],
    ])('fails creation with a clear error when the endpoint %s, and never delivers to it', async (_case, reply) => {
      // Prepare
      const webhook = await receiver((request) => {
        if (request.headers['aeg-event-type'] === 'SubscriptionValidation') return reply(parseJson(request)[0].data.validationCode);
        return { status: 200 };
      });
      const name = uniqueName('eg-refused');

      // Act
      const error = await rejectionOf(eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url }));
      eventGrid.publish([nearExpiry as never]);
      await eventGrid.admin.waitForIdle();

      // Assess
      expect(isSubscriptionValidationError(error)).toBe(true);
      expect((error as Error).message).toContain(`subscription '${name}'`);
      expect(eventGrid.admin.getSubscription(name)).toBeUndefined();
      expect(webhook.notifications()).toHaveLength(0);
    });

    it('fails creation when the endpoint cannot be reached', async () => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));
      await webhook.close();

      // Act
      const error = await rejectionOf(eventGrid.admin.createSubscription({ name: uniqueName('eg-down'), endpointUrl: webhook.url }));

      // Assess
      expect(isSubscriptionValidationError(error)).toBe(true);
      expect((error as Error).message).toMatch(/could not be delivered \(SocketError/);
    });

    it('waits for a GET on the validationUrl when the endpoint answers 200 without a validationResponse', async () => {
      // Prepare
      let validationUrl = '';
      const webhook = await receiver((request) => {
        if (request.headers['aeg-event-type'] === 'SubscriptionValidation') validationUrl = parseJson(request)[0].data.validationUrl;
        return { status: 200 };
      });
      const name = uniqueName('eg-manual');

      // Act
      const creation = eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url });
      await eventGrid.admin.waitFor(() => (validationUrl === '' ? undefined : validationUrl), 'the validation event');
      const pendingBefore = eventGrid.admin.getSubscription(name);
      const manual = await fetch(validationUrl);
      const info = await creation;

      // Assess
      expect(pendingBefore).toBeUndefined();
      expect(manual.status).toBe(200);
      expect(info.validatedBy).toBe('validationUrl');
      expect(eventGrid.admin.getSubscription(name)?.provisioningState).toBe('Succeeded');
    });

    it('refuses a validation URL with the wrong token', async () => {
      // Prepare
      let validationUrl = '';
      const webhook = await receiver((request) => {
        if (request.headers['aeg-event-type'] === 'SubscriptionValidation') validationUrl = parseJson(request)[0].data.validationUrl;
        return { status: 200 };
      });
      const name = uniqueName('eg-forged');
      const creation = eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url });
      await eventGrid.admin.waitFor(() => (validationUrl === '' ? undefined : validationUrl), 'the validation event');

      // Act
      const forged = await fetch(validationUrl.replace(/token=[0-9a-f]+/, 'token=00'));
      await fetch(validationUrl);
      await creation;

      // Assess
      expect(forged.status).toBe(404);
    });

    it('fails a manual validation that never comes within the window', async () => {
      // Prepare
      const shortWindow = await startEventGridEmulator({ manualValidationWindowMs: 50 });
      const webhook = await receiver(() => ({ status: 200 }));

      try {
        // Act
        const error = await rejectionOf(shortWindow.admin.createSubscription({ name: 'eg-never', endpointUrl: webhook.url }));

        // Assess
        expect(isSubscriptionValidationError(error)).toBe(true);
        expect((error as Error).message).toContain('validation URL was not called within 50 ms');
        expect(shortWindow.admin.listSubscriptions()).toEqual([]);
      } finally {
        await shortWindow.stop();
      }
    });
  });

  describe('CloudEvents 1.0 schema', () => {
    it('sends OPTIONS with WebHook-Request-Origin and creates the subscription on WebHook-Allowed-Origin', async () => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));
      const name = uniqueName('ce-valid');

      // Act
      const info = await eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });

      // Assess
      expect(info.validatedBy).toBe('handshake');
      expect(info.allowedRate).toBe('*');
      expect(webhook.requests).toHaveLength(1);
      expect(webhook.requests[0]?.method).toBe('OPTIONS');
      expect(webhook.requests[0]?.headers['webhook-request-origin']).toBe('eventgrid.azure.net');
      expect(webhook.requests[0]?.headers['webhook-request-callback']).toContain(`${eventGrid.url}/_validation/${name}`);
    });

    it.each<[string, Reply]>([
      ['answers 405 to OPTIONS', { status: 405 }],
      ['allows another origin', { status: 200, headers: { 'WebHook-Allowed-Origin': 'other.example.com' } }],
      ['answers an invalid allowed rate', { status: 200, headers: { 'WebHook-Allowed-Origin': '*', 'WebHook-Allowed-Rate': 'fast' } }],
    ])('fails creation when the endpoint %s', async (_case, reply) => {
      // Prepare
      const webhook = await receiver(() => reply);

      // Act
      const error = await rejectionOf(
        eventGrid.admin.createSubscription({ name: uniqueName('ce-refused'), endpointUrl: webhook.url, eventDeliverySchema: 'CloudEventSchemaV1_0' }),
      );

      // Assess
      expect(isSubscriptionValidationError(error)).toBe(true);
    });

    it('accepts consent given later through WebHook-Request-Callback', async () => {
      // Prepare
      const webhook = await receiver(() => ({ status: 200 }));
      const name = uniqueName('ce-callback');

      // Act
      const creation = eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });
      const options = await eventGrid.admin.waitFor(() => webhook.requests[0], 'the OPTIONS request');
      const callback = await fetch(String(options.headers['webhook-request-callback']), { method: 'POST' });
      const info = await creation;

      // Assess
      expect(callback.status).toBe(200);
      expect(info.validatedBy).toBe('validationUrl');
    });

    it('asks for a rate with WebHook-Request-Rate when configured and then requires WebHook-Allowed-Rate', async () => {
      // Prepare
      const rated = await startEventGridEmulator({ cloudEventsRequestRate: 120 });
      const granting = await receiver(() => ({ status: 200, headers: { 'WebHook-Allowed-Origin': 'eventgrid.azure.net', 'WebHook-Allowed-Rate': '60' } }));
      const silent = await receiver(() => ({ status: 200, headers: { 'WebHook-Allowed-Origin': 'eventgrid.azure.net' } }));

      try {
        // Act
        const granted = await rated.admin.createSubscription({ name: 'ce-rated', endpointUrl: granting.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });
        const error = await rejectionOf(rated.admin.createSubscription({ name: 'ce-unrated', endpointUrl: silent.url, eventDeliverySchema: 'CloudEventSchemaV1_0' }));

        // Assess
        expect(granting.requests[0]?.headers['webhook-request-rate']).toBe('120');
        expect(granted.allowedRate).toBe('60');
        expect(isSubscriptionValidationError(error)).toBe(true);
        expect((error as Error).message).toContain('no WebHook-Allowed-Rate');
      } finally {
        await rated.stop();
      }
    });
  });

  describe('subscription options', () => {
    it.each<[string, Partial<SubscriptionOptions>, string]>([
      ['a name too short', { name: 'ab' }, 'name'],
      ['a name with a dot', { name: 'has.dot' }, 'name'],
      ['a non-http endpoint', { endpointUrl: 'ftp://127.0.0.1/x' }, 'endpointUrl'],
      ['an unknown schema', { eventDeliverySchema: 'CustomInputSchema' as never }, 'eventDeliverySchema'],
      ['31 delivery attempts', { retryPolicy: { maxDeliveryAttempts: 31 } }, 'retryPolicy.maxDeliveryAttempts'],
      ['a TTL of 0 minutes', { retryPolicy: { eventTimeToLiveInMinutes: 0 } }, 'retryPolicy.eventTimeToLiveInMinutes'],
      ['an empty event type list', { filter: { includedEventTypes: [] } }, 'filter.includedEventTypes'],
      ['batches of 5001', { maxEventsPerBatch: 5001 }, 'maxEventsPerBatch'],
    ])('refuses %s, naming the field, before any handshake', async (_case, override, field) => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));

      // Act
      const error = await rejectionOf(eventGrid.admin.createSubscription({ name: uniqueName('bad'), endpointUrl: webhook.url, ...override }));

      // Assess
      expect(isEventGridEmulatorError(error) && error.code).toBe('InvalidSubscription');
      expect(isEventGridEmulatorError(error) && error.problems.map((p) => p.field)).toContain(field);
      expect(webhook.requests).toHaveLength(0);
    });

    it('refuses a second subscription with the same name (case-insensitive)', async () => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));
      const name = uniqueName('twice');
      await eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url });

      // Act
      const error = await rejectionOf(eventGrid.admin.createSubscription({ name: name.toUpperCase(), endpointUrl: webhook.url }));

      // Assess
      expect(isEventGridEmulatorError(error) && error.code).toBe('SubscriptionExists');
    });

    it('refuses Event Grid schema delivery from a CloudEvents topic, as the service cannot convert it', async () => {
      // Prepare
      const webhook = await receiver(validatingResponder(200));

      // Act
      const error = await rejectionOf(
        eventGrid.admin.createSubscription({ name: uniqueName('ce-to-eg'), topic: 'rotor-notifications', endpointUrl: webhook.url }),
      );

      // Assess
      expect(isEventGridEmulatorError(error) && error.problems.map((p) => p.field)).toEqual(['eventDeliverySchema']);
    });

    it('answers the admin HTTP route with problem+json: 400 for a failed handshake, 201 for a good one', async () => {
      // Prepare
      const refusing = await receiver(async (request) => (request.method === 'OPTIONS' ? { status: 403 } : ((await answerHandshake(request)) ?? { status: 200 })));
      const accepting = await receiver(validatingResponder(200));
      const post = (body: unknown) =>
        fetch(`${eventGrid.url}/_admin/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      // Act
      const failed = await post({ name: uniqueName('http-ce'), endpointUrl: refusing.url, eventDeliverySchema: 'CloudEventSchemaV1_0' });
      const invalid = await post({ name: uniqueName('http-bad'), endpointUrl: accepting.url, retryPolicy: { maxDeliveryAttempts: 0 } });
      const created = await post({ name: uniqueName('http-ok'), endpointUrl: accepting.url });

      // Assess
      expect(failed.status).toBe(400);
      expect(failed.headers.get('content-type')).toContain('application/problem+json');
      expect(((await failed.json()) as { detail: string }).detail).toContain('answered 403 to the OPTIONS validation request');
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['retryPolicy.maxDeliveryAttempts']);
      expect(created.status).toBe(201);
      expect(((await created.json()) as { validatedBy: string }).validatedBy).toBe('handshake');
    });
  });
});
