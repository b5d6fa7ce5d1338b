import { InvocationContext } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { createRotationStepsHandler, rotationStepsHandler, rotationStepsOptions } from '../../../functions/rotationSteps.js';
import { useRotor, type Rotor } from '../../../src/app/compose.js';
import { isStepMessageError } from '../../../src/queue/errors.js';
import { LedgerError, LedgerErrorCode } from '../../../src/ledger/errors.js';
import type { StepRedelivery } from '../../../src/queue/step-redelivery.js';
import { startQueuedEvent } from '../../../src/events/intake.js';
import type { EventStart, StartQueue } from '../../../src/events/start-message.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { createFakeWorld, FAKE_VAULT } from '../../helpers/fakes/index.js';

function context(lines: string[]): InvocationContext {
  return new InvocationContext({ functionName: 'rotationSteps', logHandler: (level, ...args) => lines.push(`${level}: ${args.join(' ')}`) });
}

const secret = { vaultUrl: FAKE_VAULT, name: 'handler-secret' };

afterEach(() => useRotor(undefined));

describe('rotationSteps function', () => {
  it('is registered on the session-enabled step queue named by the setting', () => {
    expect(rotationStepsOptions).toMatchObject({ connection: 'ServiceBusConnection', queueName: '%ROTOR_STEP_QUEUE%', isSessionsEnabled: true });
    expect(rotationStepsOptions.handler).toBe(rotationStepsHandler);
  });

  it.each([
    ['the first delivery', { deliveryCount: 1, applicationProperties: {} }, true],
    ['a redelivery by Service Bus', { deliveryCount: 2, applicationProperties: {} }, false],
    ['a scheduled copy after ledger trouble', { deliveryCount: 1, applicationProperties: { rotorRedelivery: 1 } }, false],
    ['a delivery without deliveryCount', {}, false],
  ] as const)('tells the engine whether %s is the first delivery (the trigger metadata as Azure and the local host give it)', async (_name, triggerMetadata, first) => {
    // Prepare
    const seen: unknown[] = [];
    const engine = {
      handleStep: (_m: unknown, delivery?: unknown) => {
        seen.push(delivery);
        return Promise.resolve({ result: 'unknown-rotation' as const });
      },
    };
    const handler = createRotationStepsHandler(() => Promise.resolve(engine));

    // Act
    await handler({ rotationId: 'r-1', secret, step: 'promote', attempt: 1 }, new InvocationContext({ functionName: 'rotationSteps', logHandler: () => undefined, triggerMetadata }));

    // Assess
    expect(seen).toEqual([{ first }]);
  });

  it.each([
    ['a parsed JSON body', (body: object) => body],
    ['a JSON string body', (body: object) => JSON.stringify(body)],
  ])('runs one step from %s', async (_name, encode) => {
    // Prepare
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'handler-initial-value', tags: { 'rotor-rotator': 'random' } });
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    const handler = createRotationStepsHandler(() => Promise.resolve(world.engine));
    const lines: string[] = [];

    // Act
    await handler(encode({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 }), context(lines));

    // Assess
    expect(world.ledger.rotations()[0]!.step).toBe('promote');
    expect(lines.join('\n')).toContain('begin #1');
  });

  it('throws an unparseable message so it dead-letters, logging the problem but not the body', async () => {
    // Prepare
    const handler = createRotationStepsHandler(() => Promise.reject(new Error('must not be reached')));
    const lines: string[] = [];
    const body = { rotationId: 'r1', secret, step: 'begin', attempt: 1, value: 'leaked-value-987654' };

    // Act
    const error = await handler(body, context(lines)).catch((e: unknown) => e);

    // Assess
    expect(isStepMessageError(error)).toBe(true);
    expect(lines.join('\n')).toContain('unparseable');
    expect(lines.join('\n')).not.toContain('leaked-value-987654');
  });

  it('uses the process composition when it is the exported handler', async () => {
    // Prepare
    const world = createFakeWorld();
    world.store.seed(secret, { value: 'handler-initial-value', tags: { 'rotor-rotator': 'random' } });
    const start = (await world.engine.startRotation(secret, { kind: 'manual' })) as { rotationId: string };
    useRotor({ engine: world.engine } as unknown as Rotor);

    // Act
    await rotationStepsHandler({ rotationId: start.rotationId, secret, step: 'begin', attempt: 1 }, context([]));

    // Assess
    expect(world.ledger.rotations()[0]!.step).toBe('promote');
  });

  describe('an event the intake enqueued (a start message)', () => {
    const startBody = (version: string) => ({ start: { secret, version, eventType: 'Microsoft.KeyVault.SecretNearExpiry', eventId: `ev-${version}` } });
    const startsOver = (world: ReturnType<typeof createFakeWorld>, log = createLogger(createMemorySink())) => ({
      run: (start: EventStart) => startQueuedEvent(start, { startRotation: world.engine.startRotation, log }),
    });

    it('starts the rotation with every check: the latest version starts one, a repeat is a duplicate, a stale version starts nothing', async () => {
      // Prepare
      const world = createFakeWorld();
      const version = world.store.seed(secret, { value: 'handler-initial-value', tags: { 'rotor-rotator': 'random' } });
      const handler = createRotationStepsHandler(() => Promise.resolve({ engine: world.engine, starts: startsOver(world) }));
      const lines: string[] = [];

      // Act
      await handler(startBody(version), context(lines));
      await handler(JSON.stringify(startBody(version)), context(lines));
      await handler(startBody('0123456789abcdef0123456789abcdef'), context(lines));

      // Assess
      expect(world.ledger.rotations()).toHaveLength(1);
      expect(world.ledger.rotations()[0]!.trigger).toMatchObject({ kind: 'event', version, eventId: `ev-${version}` });
      expect(lines.filter((l) => l.includes('start of handler-secret'))).toEqual([
        expect.stringContaining(': started'),
        expect.stringContaining(': duplicate'),
        expect.stringContaining(': ignored'),
      ]);
    });

    it('refuses a start message where no intake runs, so it dead-letters', async () => {
      const world = createFakeWorld();
      const handler = createRotationStepsHandler(() => Promise.resolve(world.engine));

      const error = await handler(startBody('0123456789abcdef0123456789abcdef'), context([])).catch((e: unknown) => e);

      expect(isStepMessageError(error)).toBe(true);
      expect(world.ledger.rotations()).toHaveLength(0);
    });

    it('sends a copy later when the ledger is down, as for a step', async () => {
      // Prepare
      const world = createFakeWorld();
      const copies: { redelivery: number | undefined; later: boolean }[] = [];
      const queue: StartQueue = { enqueue: (_s, o) => Promise.resolve(void copies.push({ redelivery: o?.redelivery, later: o?.notBefore !== undefined })) };
      const down = () => Promise.reject(new LedgerError(LedgerErrorCode.Unavailable, 'create rotation: ECONNREFUSED'));
      const handler = createRotationStepsHandler(() =>
        Promise.resolve({ engine: world.engine, redelivery: { resend: () => Promise.resolve() }, starts: { run: down, queue } }),
      );
      const lines: string[] = [];

      // Act
      await handler(startBody('0123456789abcdef0123456789abcdef'), context(lines));

      // Assess
      expect(copies).toEqual([{ redelivery: 1, later: true }]);
      expect(lines.join('\n')).toMatch(/infrastructure unavailable .*redelivery 1/);
    });
  });

  describe('when the infrastructure under a step fails', () => {
    const message = { rotationId: 'r-1', secret, step: 'prepare', attempt: 1 };
    const down = (): Promise<never> => Promise.reject(new LedgerError(LedgerErrorCode.Unavailable, 'update rotation r-1: ECONNREFUSED'));
    const redelivery = (sent: number[]): StepRedelivery => ({
      policy: { baseMs: 1_000, maxMs: 60_000, maxRedeliveries: 3 },
      resend: (_m, n) => {
        sent.push(n);
        return Promise.resolve();
      },
    });
    const withMetadata = (lines: string[], redeliveries: number): InvocationContext =>
      new InvocationContext({
        functionName: 'rotationSteps',
        logHandler: (level, ...args) => lines.push(`${level}: ${args.join(' ')}`),
        triggerMetadata: redeliveries === 0 ? {} : { applicationProperties: { rotorRedelivery: redeliveries } },
      });

    it('sends the same step again later and returns, so the host completes instead of redelivering at once', async () => {
      const sent: number[] = [];
      const lines: string[] = [];
      const handler = createRotationStepsHandler(() => Promise.resolve({ engine: { handleStep: down }, redelivery: redelivery(sent) }));

      await handler(message, withMetadata(lines, 1));

      expect(sent).toEqual([2]);
      expect(lines.join('\n')).toMatch(/warning: rotationSteps: prepare #1 of r-1: infrastructure unavailable .*redelivery 2/);
    });

    it('throws once its redeliveries are spent, so Service Bus dead-letters the step', async () => {
      const sent: number[] = [];
      const handler = createRotationStepsHandler(() => Promise.resolve({ engine: { handleStep: down }, redelivery: redelivery(sent) }));

      await expect(handler(message, withMetadata([], 3))).rejects.toThrow(/ECONNREFUSED/);
      expect(sent).toEqual([]);
    });

    it('still throws a real crash', async () => {
      const sent: number[] = [];
      const handler = createRotationStepsHandler(() =>
        Promise.resolve({ engine: { handleStep: () => Promise.reject(new TypeError('bug')) }, redelivery: redelivery(sent) }),
      );

      await expect(handler(message, withMetadata([], 0))).rejects.toThrow(TypeError);
      expect(sent).toEqual([]);
    });
  });
});
