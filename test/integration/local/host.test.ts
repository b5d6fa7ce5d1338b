import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotorFunctions } from '../../../src/local/catalogue.js';
import { startLocalHost, type LocalHost } from '../../../src/local/host.js';
import type { FunctionRegistration } from '../../../src/local/registrations.js';
import { useRotor } from '../../../src/app/compose.js';
import { partialRotor } from '../../helpers/fakes/index.js';
import { fixture } from '../../helpers/fixtures.js';
import { createFakeWaysIn, secretInfo } from '../../helpers/fakes/entry.js';

/**
 * The local host over real HTTP, with the ways in on the real engine over in-memory ports: keys,
 * routes, the Event Grid webhook and its handshakes, timers. Service Bus
 * triggers are exercised end to end against the emulator in test/e2e.
 */

const managed = { 'rotor-rotator': 'random' };
const fake = createFakeWaysIn({
  secrets: [
    secretInfo('db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', { tags: managed, expiresOn: '2026-12-01T00:00:00Z' }),
    secretInfo('api-key', '0f3a1c5e7b9d4f2a8c6e0b1d3f5a7c9e', { tags: managed }),
  ],
});
let failIntake = false;
let tick: (next: string) => void = () => undefined;
const firstTick = new Promise<string>((resolve) => {
  tick = resolve;
});
const tickTimer: FunctionRegistration = {
  name: 'tick',
  trigger: 'timer',
  options: { schedule: '* * * * * *', handler: (timer) => tick(timer.scheduleStatus.next) },
};

let host: LocalHost;

beforeAll(async () => {
  useRotor(
    partialRotor({
      entry: {
        ...fake.services,
        startRotation: (...args) => (failIntake ? Promise.reject(new Error('queue unreachable')) : fake.services.startRotation(...args)),
      },
    }),
  );
  host = await startLocalHost({
    functions: [...rotorFunctions.filter((f) => f.trigger !== 'serviceBusQueue'), tickTimer],
    env: { ROTOR_SWEEP_SCHEDULE: '0 0 0 1 1 *' },
    log: fake.services.log,
    keys: { function: 'fn-key', system: 'sys-key' },
  });
});

afterAll(async () => {
  await host.stop();
  useRotor(undefined);
});

const json = { 'content-type': 'application/json' };

/** One request over a plain socket, for what fetch refuses to send (a Host that is not a host); resolves with the whole answer. */
function rawRequest(baseUrl: string, request: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('HTTP triggers', () => {
  it.each([
    ['no key', {}, '', 401],
    ['a wrong key', { 'x-functions-key': 'nope' }, '', 401],
    ['the function key in x-functions-key', { 'x-functions-key': 'fn-key' }, '', 202],
    ['the function key in ?code=', {}, '?code=fn-key', 202],
    ['the system key', { 'x-functions-key': 'sys-key' }, '', 202],
  ])('POST /api/rotations with %s', async (_case, headers, query, status) => {
    fake.ledger.releaseAll();

    const res = await fetch(`${host.apiUrl}/rotations${query}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ secret: 'api-key' }) });

    expect(res.status).toBe(status);
    if (status === 202) expect(res.headers.get('location')).toMatch(new RegExp(`^${host.apiUrl}/rotations/`));
  });

  it('routes path parameters and answers problem+json for a bad one', async () => {
    const res = await fetch(`${host.apiUrl}/secrets/bad_name!/rotations?code=fn-key`);

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { errors: unknown[] }).errors[0]).toMatchObject({ field: 'name', in: 'path' });
  });

  it('answers an unknown route with 404', async () => {
    const res = await fetch(`${host.url}/api/nothing-here?code=fn-key`);

    expect(res.status).toBe(404);
  });

  it.each([
    ['broken percent-encoding in a path segment', '/api/rotations/%E0%A4%A?code=fn-key'],
    ['a lone percent sign', '/api/secrets/%/rotations?code=fn-key'],
  ])('answers %s with 400 problem+json', async (_case, path) => {
    const res = await fetch(`${host.url}${path}`);

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 400, detail: expect.stringContaining('percent-encoding') as unknown });
  });

  it.each([
    ['a Host with a space', 'a b'],
    ['a Host with a bad port', 'localhost:99999'],
  ])('answers a request with %s with 400 problem+json', async (_case, hostHeader) => {
    const answer = await rawRequest(host.url, `GET /api/rotations/abc HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`);

    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, title: 'Bad Request' });
  });

  it('answers an unknown path outside /api with 404 problem+json', async () => {
    const res = await fetch(`${host.url}/nowhere`);

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it.each([
    ['PUT', '/api/rotations', 'POST'],
    ['DELETE', '/api/rotations/abc', 'GET'],
    ['POST', '/api/secrets', 'GET'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const res = await fetch(`${host.url}${path}?code=fn-key`, { method });

    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it.each([
    ['no key', {}, 'A function key is required in x-functions-key or ?code='],
    ['a wrong key', { 'x-functions-key': 'nope' }, 'The function key given is not a key of this function app'],
  ])('says which 401 it is: %s', async (_case, headers, detail) => {
    const res = await fetch(`${host.apiUrl}/secrets`, { headers });

    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toBe(detail);
  });

  it('answers an oversized body with 413 before it reaches the function', async () => {
    const res = await fetch(`${host.apiUrl}/rotations?code=fn-key`, { method: 'POST', headers: json, body: 'x'.repeat(5 * 1024 * 1024) });

    expect(res.status).toBe(413);
  });
});

describe('Event Grid webhook', () => {
  const webhook = () => host.eventGridWebhookUrl('keyVaultEvents');

  it('answers the Event Grid schema validation handshake with the code', async () => {
    const res = await fetch(webhook(), {
      method: 'POST',
      headers: { ...json, 'aeg-event-type': 'SubscriptionValidation' },
      body: JSON.stringify(fixture('events/keyvault/subscription-validation.eventgrid.json')),
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' });
  });

  it('answers the CloudEvents OPTIONS handshake with the allowed origin', async () => {
    const res = await fetch(webhook(), { method: 'OPTIONS', headers: { 'webhook-request-origin': 'eventgrid.azure.net' } });

    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
  });

  it('starts one rotation for a delivery and its duplicate, in both schemas', async () => {
    const before = fake.ledger.rotations().length;
    fake.ledger.releaseAll();
    const deliver = (body: unknown, type: string) =>
      fetch(webhook(), { method: 'POST', headers: { 'content-type': type, 'aeg-event-type': 'Notification' }, body: JSON.stringify(body) });

    const first = await deliver(fixture('events/keyvault/secret-near-expiry.eventgrid.json'), 'application/json');
    const again = await deliver(fixture('events/keyvault/secret-near-expiry.cloudevents.json'), 'application/cloudevents+json; charset=utf-8');

    expect([first.status, again.status]).toEqual([202, 202]);
    expect(fake.ledger.rotations().length).toBe(before + 1);
  });

  it.each([
    ['no key', (url: string) => url.replace(/&code=.*$/, ''), { 'aeg-event-type': 'Notification' }, '[]', 401],
    ['an unknown function', (url: string) => url.replace('keyVaultEvents', 'nope'), { 'aeg-event-type': 'Notification' }, '[]', 404],
    ['a body that is not JSON', (url: string) => url, { 'aeg-event-type': 'Notification' }, '{"id":', 400],
    ['an empty batch', (url: string) => url, { 'aeg-event-type': 'Notification' }, '[]', 400],
    ['no aeg-event-type', (url: string) => url, {}, '[]', 400],
    ['a validation without a code', (url: string) => url, { 'aeg-event-type': 'SubscriptionValidation' }, '[{"data":{}}]', 400],
    ['a malformed event (not retried)', (url: string) => url, { 'aeg-event-type': 'Notification' }, '[{"id":"x","eventType":"Microsoft.KeyVault.SecretNearExpiry","data":7}]', 202],
  ])('answers %s deliberately', async (_case, urlOf, headers, body, status) => {
    const res = await fetch(urlOf(webhook()), { method: 'POST', headers: { ...json, ...headers }, body });

    expect(res.status).toBe(status);
  });

  it('answers 500 when the intake cannot reach the engine, so Event Grid retries', async () => {
    failIntake = true;
    try {
      const res = await fetch(webhook(), {
        method: 'POST',
        headers: { ...json, 'aeg-event-type': 'Notification' },
        body: JSON.stringify(fixture('events/keyvault/secret-expired.eventgrid-numbers.json')),
      });

      expect(res.status).toBe(500);
    } finally {
      failIntake = false;
    }
  });

  it('answers hundreds of hostile deliveries over HTTP with a deliberate status', async () => {
    const body = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify([v, v])));
    const header = fc.constantFrom('Notification', 'SubscriptionValidation', 'Unsubscribe', 'notification', '', 'Bogus');

    await fc.assert(
      fc.asyncProperty(body, header, async (text, type) => {
        const res = await fetch(webhook(), { method: 'POST', headers: { ...json, 'aeg-event-type': type }, body: text });
        await res.arrayBuffer();
        expect([200, 202, 400]).toContain(res.status);
      }),
      { numRuns: 200 },
    );
  });
});

describe('timers', () => {
  it('runs a timer on its NCRONTAB schedule', async () => {
    const next = await firstTick;

    expect(Date.parse(next)).toBeGreaterThan(0);
  });

  it('runs the sweep on demand with the services the functions use', async () => {
    fake.ledger.releaseAll();
    const before = fake.calls.length;

    await host.runTimer('sweep');

    expect(fake.calls.slice(before).map((c) => c.trigger.kind)).toContain('sweep');
  });
});
