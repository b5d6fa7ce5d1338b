import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEventGridEmulator, type EventGridEmulator, type KeyVaultSystemEvent, type SubscriptionOptions } from '../../../emulators/eventgrid/index.js';
import nearExpiryJson from '../../fixtures/eventgrid-emulator/keyvault-secret-near-expiry.json' with { type: 'json' };
import { answerHandshake, parseJson, startWebhookReceiver, validatingResponder, type Responder, type WebhookReceiver } from './webhook-receiver.js';

const nearExpiry = nearExpiryJson as KeyVaultSystemEvent;
const run = promisify(execFile);

/** Retry waits are the service's × 0.001 (10 s → 10 ms), so a whole retry ladder runs in milliseconds. */
const retryTimeScale = 0.001;

describe('Event Grid emulator: at-least-once delivery, retries and dead letters', () => {
  let eventGrid: EventGridEmulator;
  const receivers: WebhookReceiver[] = [];
  let counter = 0;

  async function subscribed(
    respond: Responder,
    options: Omit<SubscriptionOptions, 'name' | 'endpointUrl'> = {},
  ): Promise<{ name: string; webhook: WebhookReceiver }> {
    const webhook = await startWebhookReceiver(respond);
    receivers.push(webhook);
    counter += 1;
    const name = `retry-${counter}`;
    await eventGrid.admin.createSubscription({ name, endpointUrl: webhook.url, ...options });
    return { name, webhook };
  }

  function eventWithId(id: string): KeyVaultSystemEvent {
    return { ...nearExpiry, id };
  }

  beforeAll(async () => {
    eventGrid = await startEventGridEmulator({ retryTimeScale, endpointTimeoutMs: 300 });
  });

  // Every subscription sees every system event: each test starts with none, and none of its retries outlive it.
  afterEach(() => {
    for (const subscription of eventGrid.admin.listSubscriptions()) eventGrid.admin.deleteSubscription(subscription.name);
  });

  afterAll(async () => {
    await eventGrid.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('retries a 500 and delivers on the next attempt with aeg-delivery-count 1, the same event each time', async () => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(500, 200));

    // Act
    eventGrid.publish([eventWithId('retry-500-then-200')]);
    await eventGrid.admin.waitForIdle();

    // Assess
    const deliveries = webhook.notifications();
    expect(deliveries.map((d) => d.headers['aeg-delivery-count'])).toEqual(['0', '1']);
    expect(deliveries.map((d) => parseJson(d)[0].id)).toEqual(['retry-500-then-200', 'retry-500-then-200']);
    expect(deliveries.map((d) => parseJson(d)[0].data)).toEqual([nearExpiry.data, nearExpiry.data]);
    expect(eventGrid.admin.attempts({ subscription: name }).map((a) => [a.attempt, a.status, a.outcome])).toEqual([
      [1, 500, 'GenericError'],
      [2, 200, 'Delivered'],
    ]);
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ delivered: 1, failedAttempts: 1, deadLettered: 0 });
    expect(eventGrid.admin.deadLetters({ subscription: name })).toEqual([]);
  });

  it.each([400, 401, 403, 413])('never retries a %i: one request, dead-lettered at once', async (status) => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(status, 200));

    // Act
    eventGrid.publish([eventWithId(`non-retriable-${status}`)]);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(webhook.notifications()).toHaveLength(1);
    const [record] = eventGrid.admin.deadLetters({ subscription: name });
    expect(record).toMatchObject({
      subscription: name,
      eventId: `non-retriable-${status}`,
      deadLetterReason: 'NonRetriableError',
      deliveryAttempts: 1,
      lastHttpStatus: status,
    });
    expect(record?.event).toEqual(eventWithId(`non-retriable-${status}`));
    expect(record?.lastDeliveryAttemptTime).not.toBeNull();
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ delivered: 0, failedAttempts: 1, deadLettered: 1 });
  });

  it.each([404, 408, 429, 500, 503, 206])('retries a %i until maxDeliveryAttempts, then dead-letters it', async (status) => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(status), { retryPolicy: { maxDeliveryAttempts: 3 } });

    // Act
    eventGrid.publish([eventWithId(`retriable-${status}`)]);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(webhook.notifications().map((d) => d.headers['aeg-delivery-count'])).toEqual(['0', '1', '2']);
    expect(eventGrid.admin.deadLetters({ subscription: name })).toMatchObject([
      { deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 3, lastHttpStatus: status },
    ]);
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ delivered: 0, failedAttempts: 3, deadLettered: 1 });
  });

  it.each([200, 201, 202, 203, 204])('counts %i as delivered after one request', async (status) => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(status, 500));

    // Act
    eventGrid.publish([eventWithId(`success-${status}`)]);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(webhook.notifications()).toHaveLength(1);
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ delivered: 1, failedAttempts: 0 });
  });

  it('dead-letters with TimeToLiveExceeded when the event outlives its TTL before the attempts run out', async () => {
    // Prepare: a 1-minute TTL is 60 ms here; the schedule (10, 30, 60, 300 ms...) crosses it long before 30 attempts.
    const { name, webhook } = await subscribed(validatingResponder(500), { retryPolicy: { eventTimeToLiveInMinutes: 1, maxDeliveryAttempts: 30 } });

    // Act
    eventGrid.publish([eventWithId('ttl')]);
    await eventGrid.admin.waitForIdle();

    // Assess
    const [record] = eventGrid.admin.deadLetters({ subscription: name });
    expect(record?.deadLetterReason).toBe('TimeToLiveExceeded');
    expect(record?.deliveryAttempts).toBe(webhook.notifications().length);
    expect(record?.deliveryAttempts).toBeGreaterThanOrEqual(1);
    expect(record?.deliveryAttempts).toBeLessThan(30);
  });

  it('treats an endpoint that does not answer in time as a failed attempt and retries it', async () => {
    // Prepare
    let deliveries = 0;
    const { name, webhook } = await subscribed(async (request) => {
      const handshake = await answerHandshake(request);
      if (handshake !== undefined) return handshake;
      deliveries += 1;
      return deliveries === 1 ? { status: 200, hang: true } : { status: 200 };
    });

    // Act
    eventGrid.publish([eventWithId('timeout-then-200')]);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(webhook.notifications()).toHaveLength(2);
    expect(eventGrid.admin.attempts({ subscription: name }).map((a) => a.outcome)).toEqual(['TimedOut', 'Delivered']);
  });

  it('retries an endpoint that went away, recording SocketError and no HTTP status', async () => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(200), { retryPolicy: { maxDeliveryAttempts: 2 } });
    await webhook.close();

    // Act
    eventGrid.publish([eventWithId('socket-error')]);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(eventGrid.admin.deadLetters({ subscription: name })).toMatchObject([
      { deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 2, lastDeliveryOutcome: 'SocketError', lastHttpStatus: null },
    ]);
  });

  it('injects a duplicate delivery of the next successful event when asked', async () => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(200));
    eventGrid.admin.injectDuplicates({ subscription: name, remaining: 1 });

    // Act
    eventGrid.publish([eventWithId('dup-1'), eventWithId('dup-2')]);
    await eventGrid.admin.waitForIdle();

    // Assess
    const ids = webhook.notifications().map((d) => parseJson(d)[0].id as string);
    expect(ids).toHaveLength(3);
    expect(new Set(ids)).toEqual(new Set(['dup-1', 'dup-2']));
    const duplicated = ids.find((id, i) => ids.indexOf(id) !== i);
    const counts = webhook.notifications().filter((d) => parseJson(d)[0].id === duplicated).map((d) => d.headers['aeg-delivery-count']);
    expect(counts).toEqual(['0', '1']);
    expect(eventGrid.admin.getSubscription(name)?.counters).toMatchObject({ delivered: 3, duplicatesInjected: 1 });
  });

  it('injects duplicates through the admin HTTP route, and refuses a rule with a bad fraction', async () => {
    // Prepare
    const { name, webhook } = await subscribed(validatingResponder(200));
    const post = (body: unknown) =>
      fetch(`${eventGrid.url}/_admin/duplicates`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    // Act
    const bad = await post({ subscription: name, fraction: 2 });
    const good = await post({ subscription: name, fraction: 1 });
    eventGrid.publish([eventWithId('dup-http')]);
    await eventGrid.admin.waitForIdle();
    await fetch(`${eventGrid.url}/_admin/duplicates`, { method: 'DELETE' });

    // Assess
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['fraction']);
    expect(good.status).toBe(204);
    expect(webhook.notifications().map((d) => parseJson(d)[0].id)).toEqual(['dup-http', 'dup-http']);
  });

  it('drops the pending retries of a deleted subscription instead of dead-lettering them', async () => {
    // Prepare: 1-hour retries would keep the delivery pending for the whole test.
    const { name } = await subscribed(validatingResponder(500), { retryPolicy: { maxDeliveryAttempts: 30 } });
    eventGrid.publish([eventWithId('deleted')]);
    await eventGrid.admin.waitFor(() => (eventGrid.admin.attempts({ subscription: name }).length > 0 ? true : undefined), 'the first attempt');

    // Act
    const deleted = eventGrid.admin.deleteSubscription(name);
    await eventGrid.admin.waitForIdle();

    // Assess
    expect(deleted).toBe(true);
    expect(eventGrid.admin.getSubscription(name)).toBeUndefined();
    expect(eventGrid.admin.deadLetters({ subscription: name })).toEqual([]);
  });

  it('serves dead letters and attempts over the admin HTTP routes', async () => {
    // Prepare
    const { name } = await subscribed(validatingResponder(400));
    eventGrid.publish([eventWithId('over-http')]);
    await eventGrid.admin.waitForIdle();

    // Act
    const deadLetters = await fetch(`${eventGrid.url}/_admin/dead-letters?subscription=${name}`);
    const attempts = await fetch(`${eventGrid.url}/_admin/attempts?subscription=${name}`);
    const subscription = await fetch(`${eventGrid.url}/_admin/subscriptions/${name}`);

    // Assess
    expect(await deadLetters.json()).toMatchObject([{ eventId: 'over-http', deadLetterReason: 'NonRetriableError', lastHttpStatus: 400 }]);
    expect(await attempts.json()).toMatchObject([{ status: 400, outcome: 'BadRequest', deliveryCount: 0 }]);
    expect(await subscription.json()).toMatchObject({ name, counters: { deadLettered: 1 } });
  });
});

describe('Event Grid emulator: stop()', () => {
  it('cancels pending retries and leaves no timer running (checked in a fresh process)', async () => {
    // Prepare: a child process has no test-runner timers, so its timer count is the emulator's alone.
    const script = fileURLToPath(new URL('./scripts/stop-with-pending-retry.ts', import.meta.url));

    // Act
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });

    // Assess
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ timersWhileRetryPending: 1, pendingDeliveries: 1, timersAfterStop: 0, notifications: 1 });
  });
});
