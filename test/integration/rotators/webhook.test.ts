import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDemoProvider, type DemoProvider } from '../../../examples/webhook-receiver/demo-provider.js';
import { createRotorReceiver, type RotorRequest } from '../../../examples/webhook-receiver/receiver.js';
import { isRotatorError } from '../../../src/rotation/rotator-errors.js';
import { createWebhookRotator, type WebhookRotatorDeps } from '../../../src/rotators/webhook/index.js';
import { createTestCertificate } from '../../helpers/https-certificate.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { promoted, testRotatorContext, type TestRotatorContext } from '../../helpers/rotator-context.js';
import { engineView, type EngineView } from '../../helpers/rotator-harness.js';

/**
 * The webhook rotator against a real HTTPS endpoint: the example receiver from
 * examples/webhook-receiver (signature check, replay guard, demo provider),
 * behind a thin layer the tests use to capture raw requests and inject
 * failures (4xx, 5xx, resets, hangs).
 */
const SIGNING_KEY = `whsec-${randomUUID()}-${randomUUID()}`;
const INITIAL_KEY = `initial-api-key-${randomUUID()}`;

interface Captured {
  readonly headers: IncomingMessage['headers'];
  body: string;
}

type Fault = (req: IncomingMessage, res: ServerResponse) => void;

let cert: string;
let server: Server;
let url: string;
let provider: DemoProvider;
let captured: Captured[];
let verified: RotorRequest[];
let rejections: { status: number; reason: string }[];
/** Faults served instead of the receiver, first in first out. */
let faults: Fault[];
const hanging: ServerResponse[] = [];

function rotatorWith(deps: Partial<WebhookRotatorDeps> = {}): EngineView {
  return engineView(createWebhookRotator({ ca: cert, retryDelayMs: 1, maxAttempts: 3, timeoutMs: 5_000, ...deps }));
}

interface ContextOptions {
  readonly strategy?: 'single' | 'alternating';
  readonly slot?: string;
  readonly url?: string;
  /** What the vault holds as the signing key; default the receiver's. */
  readonly signingKey?: string;
}

function context(options: ContextOptions = {}): TestRotatorContext {
  return testRotatorContext({
    rotator: 'webhook',
    strategy: options.strategy ?? 'alternating',
    target: 'billing-api',
    tags: { 'rotor-webhook-url': options.url ?? url, 'rotor-webhook-signing-secret': 'webhook-signing-key' },
    vault: { 'webhook-signing-key': options.signingKey ?? SIGNING_KEY },
    current: { value: INITIAL_KEY, slot: options.slot ?? 'key1' },
  });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function codeOf(error: unknown): { code: string; transient: boolean } | undefined {
  return isRotatorError(error) ? { code: error.code, transient: error.transient } : undefined;
}

/** Sends raw bytes to the receiver, as an attacker who captured a request would. */
function send(headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, ca: cert }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  ({ cert } = await createTestCertificate().then(async (pems) => {
    const receiver = createRotorReceiver({
      signingKey: SIGNING_KEY,
      handle: (r) => {
        verified.push(r);
        return provider.handle(r);
      },
      onRejected: (status, reason) => rejections.push({ status, reason }),
    });
    server = createHttpsServer({ cert: pems.cert, key: pems.key }, (req, res) => {
      // Counted on arrival; the body is filled in when it has been read (never, for a reset connection).
      const entry = { headers: req.headers, body: '' };
      captured.push(entry);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        entry.body = Buffer.concat(chunks).toString('utf8');
      });
      const fault = faults.shift();
      if (fault === undefined) receiver(req, res);
      else fault(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rotor`;
    return pems;
  }));
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  provider = createDemoProvider({ key1: INITIAL_KEY });
  captured = [];
  verified = [];
  rejections = [];
  faults = [];
});

describe('webhook rotator, protocol', () => {
  it('runs an alternating rotation through the receiver: prepare, test, revoke, then rollback of the next', async () => {
    // Prepare
    const rotator = rotatorWith();
    const first = context();

    // Act: rotation 1
    const prepared = await rotator.prepare(first);
    const tested = await rotator.test(first, prepared.value);
    const after = promoted(first, prepared);
    await rotator.revoke!(after, first.current);

    // Assess: the new key works, the old one is gone, every request was signed and verified
    expect(prepared.slot).toBe('key2');
    expect(prepared.refs).toEqual({ keyName: 'key2' });
    expect(tested).toEqual({ ok: true });
    expect(provider.accepts(prepared.value.reveal())).toBe(true);
    expect(provider.accepts(INITIAL_KEY)).toBe(false);
    expect(rejections).toEqual([]);
    expect(verified.map((r) => [r.step, r.rotationId, r.secret.name, r.target])).toEqual([
      ['prepare', first.rotationId, 'app-db', 'billing-api'],
      ['test', first.rotationId, 'app-db', 'billing-api'],
      ['revoke', first.rotationId, 'app-db', 'billing-api'],
    ]);

    // Act: rotation 2 prepares key1, then rolls back
    const second = promoted(first, prepared, { rotationId: randomUUID() });
    const prepared2 = await rotator.prepare(second);
    await rotator.restore!(second, second.current, prepared2);

    // Assess
    expect(prepared2.slot).toBe('key1');
    expect(provider.accepts(prepared2.value.reveal())).toBe(false);
    expect(provider.accepts(prepared.value.reveal())).toBe(true);
    expect(await rotator.test(second, prepared2.value)).toEqual({ ok: false, reason: 'the provider does not know this key' });
  });

  it('runs a single rotation: prepare changes nothing, apply does, restore undoes it', async () => {
    // Prepare
    provider = createDemoProvider({ key: INITIAL_KEY });
    const rotator = rotatorWith();
    const rotation = context({ strategy: 'single', slot: 'key' });

    // Act + Assess
    const prepared = await rotator.prepare(rotation);
    expect(provider.accepts(prepared.value.reveal())).toBe(false);
    await rotator.apply!(rotation, prepared);
    expect(provider.accepts(prepared.value.reveal())).toBe(true);
    expect(provider.accepts(INITIAL_KEY)).toBe(false);
    await rotator.restore!(rotation, rotation.current, prepared);
    expect(provider.accepts(INITIAL_KEY)).toBe(true);
    expect(verified.map((r) => r.step)).toEqual(['prepare', 'apply', 'restore']);
    expect(verified[1]?.credential?.value).toBe(prepared.value.reveal());
    expect(verified[2]?.credential?.value).toBe(INITIAL_KEY);
  });

  it('sends the documented request shape, with an idempotency key per rotation and step', async () => {
    // Act
    const rotation = context();
    await rotatorWith().prepare(rotation);

    // Assess
    const [request] = captured;
    const body = JSON.parse(request!.body);
    expect(body).toEqual({
      protocol: 'rotor-webhook/1',
      deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      rotationId: rotation.rotationId,
      step: 'prepare',
      attempt: 1,
      secret: { vaultUrl: 'https://kv-test.vault.azure.net', name: 'app-db' },
      strategy: 'alternating',
      target: 'billing-api',
      current: { version: rotation.current.version, slot: 'key1' },
    });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['idempotency-key']).toBe(`${rotation.rotationId}:prepare`);
    expect(request!.headers['x-rotor-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('a prepare delivered twice for one rotation gives the same credential and one new key', async () => {
    // Prepare
    const rotator = rotatorWith();
    const rotation = context();

    // Act
    const firstTry = await rotator.prepare(rotation);
    const secondTry = await rotator.prepare({ ...rotation, attempt: 2 });

    // Assess
    expect(secondTry.value.equals(firstTry.value)).toBe(true);
    expect([...provider.slots.keys()].sort()).toEqual(['key1', 'key2']);
  });
});

describe('webhook rotator, signatures', () => {
  it('a captured request replayed verbatim is refused', async () => {
    // Prepare
    await rotatorWith().prepare(context());
    const [original] = captured;

    // Act
    const status = await send({ 'content-type': 'application/json', 'x-rotor-signature': String(original!.headers['x-rotor-signature']) }, original!.body);

    // Assess
    expect(status).toBe(401);
    expect(rejections).toEqual([{ status: 401, reason: 'replayed delivery' }]);
    expect(verified).toHaveLength(1);
  });

  it('a captured request with a tampered body is refused', async () => {
    // Prepare
    await rotatorWith().prepare(context());
    const [original] = captured;
    const tampered = JSON.stringify({ ...JSON.parse(original!.body), step: 'revoke', deliveryId: randomUUID(), credential: { value: 'attacker-chosen-value' } });

    // Act
    const status = await send({ 'content-type': 'application/json', 'x-rotor-signature': String(original!.headers['x-rotor-signature']) }, tampered);

    // Assess
    expect(status).toBe(401);
    expect(rejections).toEqual([{ status: 401, reason: 'signature mismatch' }]);
  });

  it.each([
    { case: 'a clock ten minutes behind', deps: { now: () => Date.now() - 600_000 }, vault: SIGNING_KEY, reason: 'timestamp outside the tolerance window' },
    { case: 'the wrong signing key', deps: {}, vault: 'not-the-receivers-key-0123456789', reason: 'signature mismatch' },
  ])('a request signed with $case is refused, and Rotor fails permanently at once', async ({ deps, vault, reason }) => {
    // The signing key is read through context.readSecret, as the engine will supply it from Key Vault.
    // Prepare
    const rotation = context({ signingKey: vault });

    // Act
    const error = await errorOf(rotatorWith(deps).prepare(rotation));

    // Assess
    expect(codeOf(error)).toEqual({ code: 'PermissionDenied', transient: false });
    expect(rejections).toEqual([{ status: 401, reason }]);
  });
});

describe('webhook rotator, failures', () => {
  const status =
    (code: number, headers: Record<string, string> = {}): Fault =>
    (req, res) => {
      req.resume();
      res.writeHead(code, headers).end(JSON.stringify({ title: `echoing ${INITIAL_KEY}` }));
    };
  const reset: Fault = (req) => req.socket.destroy();
  const hang: Fault = (req, res) => {
    req.resume();
    hanging.push(res);
  };

  it.each([
    { case: '503 twice', faults: [status(503), status(503)], requests: 3 },
    { case: '500 then a reset connection', faults: [status(500), reset], requests: 3 },
    { case: '429 once', faults: [status(429)], requests: 2 },
  ])('retries $case and then succeeds', async ({ faults: injected, requests }) => {
    // Prepare
    faults.push(...injected);

    // Act
    const prepared = await rotatorWith().prepare(context());

    // Assess
    expect(prepared.slot).toBe('key2');
    expect(captured).toHaveLength(requests);
    const bodies = captured.filter((c) => c.body !== '').map((c) => JSON.parse(c.body));
    expect(new Set(bodies.map((b) => b.deliveryId)).size).toBe(bodies.length);
    expect(new Set(captured.map((c) => c.headers['idempotency-key'])).size).toBe(1);
  });

  it.each([
    { case: '503 every time', fault: status(503), code: 'ProviderUnavailable', transient: true, requests: 3 },
    { case: '429 every time', fault: status(429), code: 'ProviderThrottled', transient: true, requests: 3 },
    { case: 'a reset every time', fault: reset, code: 'ProviderUnavailable', transient: true, requests: 3 },
    { case: '400', fault: status(400), code: 'ProviderRejected', transient: false, requests: 1 },
    { case: '403', fault: status(403), code: 'PermissionDenied', transient: false, requests: 1 },
    { case: '404', fault: status(404), code: 'TargetNotFound', transient: false, requests: 1 },
    { case: '422', fault: status(422), code: 'ProviderRejected', transient: false, requests: 1 },
    { case: 'a redirect', fault: status(302, { location: 'https://elsewhere.example.com/' }), code: 'InvalidConfiguration', transient: false, requests: 1 },
  ])('answers $case with $code after $requests request(s)', async ({ fault, code, transient, requests }) => {
    // Prepare
    faults.push(fault, fault, fault);
    const rotation = context();

    // Act
    const error = await errorOf(rotatorWith().prepare(rotation));

    // Assess
    expect(codeOf(error)).toEqual({ code, transient });
    expect(captured).toHaveLength(requests);
    expectNoSecretIn([String(error), ...rotation.logRecords.map((r) => JSON.stringify(r))], [INITIAL_KEY, SIGNING_KEY]);
  });

  it('hands a long Retry-After back to the engine instead of waiting in the step', async () => {
    // Prepare
    faults.push(status(429, { 'retry-after': '120' }), status(429, { 'retry-after': '120' }));

    // Act
    const error = await errorOf(rotatorWith().prepare(context()));

    // Assess
    expect(codeOf(error)).toEqual({ code: 'ProviderThrottled', transient: true });
    expect(isRotatorError(error) && error.retryAfterMs).toBe(120_000);
    expect(captured).toHaveLength(1);
  });

  it('waits out a short Retry-After within the step', async () => {
    // Prepare
    faults.push(status(503, { 'retry-after': '0' }));

    // Act
    const prepared = await rotatorWith().prepare(context());

    // Assess
    expect(prepared.slot).toBe('key2');
    expect(captured).toHaveLength(2);
  });

  it('gives up on an endpoint that does not answer within the timeout, as transient', async () => {
    // Prepare
    faults.push(hang);

    // Act
    const error = await errorOf(rotatorWith({ timeoutMs: 200, maxAttempts: 1 }).prepare(context()));

    // Assess
    expect(codeOf(error)).toEqual({ code: 'ProviderUnavailable', transient: true });
    expect(String(error)).toContain('did not answer prepare within 200 ms');
  });

  it('refuses an endpoint whose certificate is not trusted, permanently', async () => {
    // Act
    const error = await errorOf(engineView(createWebhookRotator({ retryDelayMs: 1 })).prepare(context()));

    // Assess
    expect(codeOf(error)).toMatchObject({ code: 'InvalidConfiguration', transient: false });
    expect(captured).toHaveLength(0);
  });

  it.each([
    { case: 'a missing credential', body: { slot: 'key2' }, message: 'credential: invalid_type' },
    { case: 'a wrongly typed slot next to a credential', body: { credential: 'leaky-credential-in-bad-answer', slot: 42 }, message: 'slot: invalid_type' },
    { case: 'no slot for alternating', body: { credential: 'leaky-credential-in-bad-answer' }, message: 'without a slot' },
    { case: 'a body that is not JSON', body: 'leaky-credential-in-bad-answer', message: 'is not JSON' },
  ])('refuses a prepare answer with $case, without quoting it', async ({ body, message }) => {
    // Prepare
    faults.push((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    });
    const rotation = context();

    // Act
    const error = await errorOf(rotatorWith().prepare(rotation));

    // Assess
    expect(codeOf(error)).toEqual({ code: 'ProviderRejected', transient: false });
    expect(String(error)).toContain(message);
    expectNoSecretIn([String(error), ...rotation.logRecords.map((r) => JSON.stringify(r))], ['leaky-credential-in-bad-answer']);
  });

  it('refuses an answer larger than 64 KiB', async () => {
    // Prepare
    faults.push((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ credential: 'x'.repeat(70 * 1024) }));
    });

    // Act
    const error = await errorOf(rotatorWith().prepare(context()));

    // Assess
    expect(codeOf(error)).toEqual({ code: 'ProviderRejected', transient: false });
    expect((error as Error).message).toContain('exceeded 65536 bytes');
  });

  it('never logs or throws a credential over a whole rotation', async () => {
    // Prepare
    const rotator = rotatorWith();
    const rotation = context();
    faults.push(status(503));

    // Act
    const prepared = await rotator.prepare(rotation);
    await rotator.test(rotation, prepared.value);
    await rotator.restore!(rotation, rotation.current, prepared);

    // Assess
    expect(rotation.logRecords.length).toBeGreaterThan(0);
    expectNoSecretIn(rotation.logRecords.map((r) => JSON.stringify(r)).concat(JSON.stringify(prepared)), [prepared.value.reveal(), INITIAL_KEY, SIGNING_KEY]);
  });
});

describe('webhook rotator over plain http (local stack only)', () => {
  it('is refused by default and works with allowHttp', async () => {
    // Prepare
    const plain = createHttpServer(createRotorReceiver({ signingKey: SIGNING_KEY, handle: (r) => provider.handle(r) }));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/rotor`;
    try {
      // Act
      const refused = await errorOf(rotatorWith().prepare(context({ url: plainUrl })));
      const prepared = await rotatorWith({ allowHttp: true }).prepare(context({ url: plainUrl }));

      // Assess
      expect(codeOf(refused)).toEqual({ code: 'InvalidConfiguration', transient: false });
      expect(prepared.slot).toBe('key2');
      expect(rotatorWith().validate(context({ url: plainUrl }).policy).map((p) => p.tag)).toEqual(['rotor-webhook-url']);
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
