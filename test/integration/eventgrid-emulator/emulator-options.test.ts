import { afterAll, describe, expect, it } from 'vitest';
import { isEventGridEmulatorError, startEventGridEmulator, type EventGridEmulatorOptions, type KeyVaultSystemEvent } from '../../../emulators/eventgrid/index.js';
import nearExpiry from '../../fixtures/eventgrid-emulator/keyvault-secret-near-expiry.json' with { type: 'json' };
import { answerHandshake, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

describe('Event Grid emulator: start-up options', () => {
  const receivers: WebhookReceiver[] = [];

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
  });

  it.each<[string, EventGridEmulatorOptions, string]>([
    ['a zero time scale', { retryTimeScale: 0 }, 'retryTimeScale'],
    ['a negative endpoint timeout', { endpointTimeoutMs: -1 }, 'endpointTimeoutMs'],
    ['a fractional concurrency', { maxConcurrentDeliveries: 1.5 }, 'maxConcurrentDeliveries'],
    ['a port out of range', { port: 70_000 }, 'port'],
  ])('refuses %s, naming the option', async (_case, options, field) => {
    // Act
    let error: unknown;
    try {
      const started = await startEventGridEmulator(options);
      await started.stop();
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(isEventGridEmulatorError(error) && error.problems.map((p) => p.field)).toEqual([field]);
  });

  it('refuses to start when a subscription given at start fails its handshake, and leaves nothing running', async () => {
    // Prepare
    const refusing = await startWebhookReceiver(() => ({ status: 403 }));
    receivers.push(refusing);

    // Act
    let error: unknown;
    try {
      const started = await startEventGridEmulator({ subscriptions: [{ name: 'refused-at-start', endpointUrl: refusing.url }] });
      await started.stop();
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(isEventGridEmulatorError(error) && error.code).toBe('SubscriptionValidationFailed');
  });

  it('keeps at most maxConcurrentDeliveries requests in flight and still delivers everything', async () => {
    // Prepare: the webhook answers a little later, so requests would overlap if nothing held them back.
    let open = 0;
    let mostOpen = 0;
    const webhook = await startWebhookReceiver(async (request) => {
      const handshake = await answerHandshake(request);
      if (handshake !== undefined) return handshake;
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      await new Promise((resolve) => setTimeout(resolve, 5));
      open -= 1;
      return { status: 200 };
    });
    receivers.push(webhook);
    const eventGrid = await startEventGridEmulator({ maxConcurrentDeliveries: 2 });
    const events = Array.from({ length: 12 }, (_, i) => ({ ...(nearExpiry as KeyVaultSystemEvent), id: `concurrent-${i}` }));

    try {
      await eventGrid.admin.createSubscription({ name: 'narrow', endpointUrl: webhook.url });

      // Act
      eventGrid.publish(events);
      await eventGrid.admin.waitForIdle();

      // Assess
      expect(webhook.notifications()).toHaveLength(12);
      expect(mostOpen).toBe(2);
    } finally {
      await eventGrid.stop();
    }
  });
});
