import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDemoProvider, type DemoProvider } from '../../../examples/webhook-receiver/demo-provider.js';
import { createRotorReceiver, type RotorRequest } from '../../../examples/webhook-receiver/receiver.js';
import { pendingRef } from '../../../src/rotation/pending.js';
import { createWebhookRotator } from '../../../src/rotators/webhook/index.js';
import { crashingPorts, describeEndState, replayEveryCrash, untilNoCrash, expectCrashPropagated } from '../../helpers/crash-replay.js';
import { createFakeWorld, FAKE_VAULT, type FakeWorld, type FakeWorldOptions } from '../../helpers/fakes/index.js';
import { createTestCertificate } from '../../helpers/https-certificate.js';
import { expectNoSecretIn } from '../../helpers/leaks.js';

/**
 * Whole rotations through the engine with the webhook rotator calling the
 * example receiver over HTTPS: every request signed by Rotor and verified by
 * the receiver, replays and tampering refused, 5xx retried, 4xx final.
 */
const secret = { vaultUrl: FAKE_VAULT, name: 'billing-api-key' };
const HEALTH = 'https://billing.example/health';
const SIGNING_KEY = `whsec-${randomUUID()}-${randomUUID()}`;
const INITIAL = `initial-api-key-${randomUUID()}`;

type Fault = (req: IncomingMessage, res: ServerResponse) => void;

let cert: string;
let server: Server;
let url: string;
let provider: DemoProvider;
let verified: RotorRequest[];
let rejections: string[];
let captured: { signature: string; body: string }[];
let faults: Fault[];

interface Scenario {
  readonly consumerBreaks?: boolean;
  readonly revokeAfter?: string;
}

function build(scenario: Scenario, wrapPorts?: FakeWorldOptions['wrapPorts']): FakeWorld {
  provider = createDemoProvider({ key1: INITIAL });
  const world = createFakeWorld({
    rotators: [createWebhookRotator({ ca: cert, maxAttempts: 2, retryDelayMs: 1 })],
    settings: { maxStepAttempts: 3 },
    ...(wrapPorts === undefined ? {} : { wrapPorts }),
  });
  world.store.seed({ vaultUrl: FAKE_VAULT, name: 'billing-webhook-key' }, { value: SIGNING_KEY });
  world.store.seed(secret, {
    value: INITIAL,
    tags: {
      'rotor-rotator': 'webhook',
      'rotor-strategy': 'alternating',
      'rotor-target': 'billing-api',
      'rotor-webhook-url': url,
      'rotor-webhook-signing-secret': 'billing-webhook-key',
      'rotor-grace': 'PT5M',
      'rotor-health': HEALTH,
      'rotor-slot': 'key1',
      ...(scenario.revokeAfter === undefined ? {} : { 'rotor-revoke-after': scenario.revokeAfter }),
    },
  });
  if (scenario.consumerBreaks === true) {
    world.health.setRule(HEALTH, () => world.store.versions(secret).filter((v) => v.enabled).at(-1)?.value === INITIAL);
  }
  return world;
}

function latestEnabled(world: FakeWorld): string {
  return world.store.versions(secret).filter((v) => v.enabled).at(-1)!.value;
}

async function rotate(world: FakeWorld): Promise<void> {
  const version = world.store.versions(secret)[0]!.version;
  await untilNoCrash(() => world.engine.startRotation(secret, { kind: 'event', eventType: 'Microsoft.KeyVault.SecretNearExpiry', version }));
  await world.drain();
}

/** The provider's side of the end state: which slots hold a key, and whether the secret's latest value works there. */
function providerState(world: FakeWorld): unknown {
  return { slots: [...provider.slots.keys()].sort(), acceptsInitial: provider.accepts(INITIAL), acceptsLatest: provider.accepts(latestEnabled(world)) };
}

function resend(signature: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rotor-signature': signature }, ca: cert }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  const pems = await createTestCertificate();
  cert = pems.cert;
  const receiver = createRotorReceiver({
    signingKey: SIGNING_KEY,
    handle: (r) => {
      verified.push(r);
      return provider.handle(r);
    },
    onRejected: (_status, reason) => rejections.push(reason),
  });
  server = createServer({ cert: pems.cert, key: pems.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => captured.push({ signature: String(req.headers['x-rotor-signature']), body: Buffer.concat(chunks).toString('utf8') }));
    const fault = faults.shift();
    if (fault === undefined) receiver(req, res);
    else fault(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rotate`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  verified = [];
  rejections = [];
  captured = [];
  faults = [];
});

const answer =
  (status: number): Fault =>
  (req, res) => {
    req.resume();
    res.writeHead(status).end();
  };

describe('webhook rotations through the engine', () => {
  it('alternating with revoke-after: every step signed and verified, the old key revoked, the new one live', async () => {
    // Prepare
    const world = build({ revokeAfter: 'PT1H' });

    // Act
    await rotate(world);

    // Assess
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('Completed');
    // promote calls prepare itself; the webhook's restore needs what prepare made, so it is kept pending (docs/protocol.md)
    expect(rotation.steps.map((s) => s.step)).toEqual(['begin', 'promote', 'nudge', 'verify', 'retire', 'revoke']);
    expect(world.store.versions(pendingRef(secret))).toEqual([expect.objectContaining({ enabled: false })]);
    expect(verified.map((r) => r.step)).toEqual(['prepare', 'test', 'revoke']);
    expect(new Set(verified.map((r) => r.rotationId))).toEqual(new Set([rotation.id]));
    expect(rejections).toEqual([]);
    expect(provider.accepts(latestEnabled(world))).toBe(true);
    expect(provider.accepts(INITIAL)).toBe(false);
    expect(world.store.versions(secret).at(-1)!.tags['rotor-slot']).toBe('key2');
    expectNoSecretIn(world.texts(), [INITIAL, SIGNING_KEY, latestEnabled(world)]);
  });

  it('a consumer that breaks rolls back through restore; the initial key works again', async () => {
    // Prepare
    const world = build({ consumerBreaks: true });

    // Act
    await rotate(world);

    // Assess
    expect(world.ledger.rotations()[0]!.status).toBe('RolledBack');
    expect(verified.map((r) => r.step)).toContain('restore');
    expect(latestEnabled(world)).toBe(INITIAL);
    expect(provider.accepts(INITIAL)).toBe(true);
    expect([...provider.slots.keys()]).toEqual(['key1']);
  });

  it('5xx answers are retried, in the step and then by the engine, until the endpoint recovers', async () => {
    // Prepare: two in-step tries fail, the engine schedules the step again, its first try fails too
    const world = build({});
    faults.push(answer(503), answer(502), answer(500));

    // Act
    await rotate(world);

    // Assess
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('Completed');
    expect(rotation.steps.filter((s) => s.step === 'promote').map((s) => s.outcome)).toEqual(['retrying', 'succeeded']);
    expect(captured.filter((c) => JSON.parse(c.body).step === 'prepare')).toHaveLength(4);
  });

  it('a 4xx answer fails the rotation at once, with the status in the reason and nothing changed', async () => {
    // Prepare
    const world = build({});
    faults.push(answer(422));

    // Act
    await rotate(world);

    // Assess
    const rotation = world.ledger.rotations()[0]!;
    expect(rotation.status).toBe('Failed');
    expect(rotation.reason).toContain('HTTP 422');
    expect(captured).toHaveLength(1);
    expect(latestEnabled(world)).toBe(INITIAL);
    expect(provider.accepts(INITIAL)).toBe(true);
  });

  it('the receiver refuses a replayed or tampered copy of a request the engine sent', async () => {
    // Prepare
    const world = build({ revokeAfter: 'PT1H' });
    await rotate(world);
    const revoke = captured.find((c) => JSON.parse(c.body).step === 'revoke')!;
    const tampered = JSON.stringify({ ...JSON.parse(revoke.body), deliveryId: randomUUID() });

    // Act
    const replayed = await resend(revoke.signature, revoke.body);
    const forged = await resend(revoke.signature, tampered);

    // Assess
    expect([replayed, forged]).toEqual([401, 401]);
    expect(rejections).toEqual(['replayed delivery', 'signature mismatch']);
  });
});

describe('webhook rotations: crash after every write, then replay (I4)', () => {
  it.each<Scenario>([{ revokeAfter: 'PT1H' }, { consumerBreaks: true }])(
    'alternating (consumer breaks: $consumerBreaks, revoke-after: $revokeAfter) ends as a clean run, at the provider too',
    async (scenario) => {
      // Act
      const report = await replayEveryCrash({
        createWorld: (crash) => build(scenario, (ports) => crashingPorts(ports, crash)),
        run: rotate,
        snapshot: (world) => ({ engine: describeEndState(world, secret, INITIAL), provider: providerState(world) }),
      });

      // Assess
      expect(report.cleanWrites.some((w) => w.startsWith('rotator(webhook)'))).toBe(true);
      for (const replay of report.cases) {
        expectCrashPropagated(replay);
        expect(replay.snapshot, `crash after write ${replay.crashAfter} (${replay.label})`).toEqual(report.clean);
      }
      expect(rejections).toEqual([]);
    },
  );
});
