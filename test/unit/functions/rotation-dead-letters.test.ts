import { InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { createRotationDeadLettersHandler, rotationDeadLettersOptions } from '../../../functions/rotationDeadLetters.js';
import { LedgerError, LedgerErrorCode } from '../../../src/ledger/errors.js';
import { readDeadLetterMetadata } from '../../../src/queue/dead-letter-metadata.js';
import type { EntryServices } from '../../../src/entry/services.js';

// The metadata as the Node worker hands it over in Azure: the extension's
// binding data, every key camel-cased by @azure/functions, the dead-letter
// reason only inside the application properties.
const azureMetadata = {
  messageId: 'r-1:verify:3',
  sessionId: 'kv.vault.azure.net/app-secret',
  deliveryCount: 11,
  deadLetterSource: 'rotation-steps',
  applicationProperties: {
    rotationId: 'r-1',
    step: 'verify',
    attempt: 3,
    deadLetterReason: 'MaxDeliveryCountExceeded',
    deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
  },
  userProperties: {},
};
const body = { rotationId: 'r-1', secret: { vaultUrl: 'https://kv.vault.azure.net', name: 'app-secret' }, step: 'verify', attempt: 3 };

function context(lines: string[] = []): InvocationContext {
  return new InvocationContext({
    functionName: 'rotationDeadLetters',
    triggerMetadata: azureMetadata,
    logHandler: (level, ...args) => lines.push(`${level}: ${args.join(' ')}`),
  });
}

function servicesFailing(failRotation: EntryServices['failRotation']): EntryServices {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  return { failRotation, log } as unknown as EntryServices;
}

describe('rotationDeadLetters', () => {
  it('listens on the step queue\'s dead-letter sub-queue', () => {
    expect(rotationDeadLettersOptions).toMatchObject({ queueName: '%ROTOR_STEP_QUEUE%/$DeadLetterQueue', isSessionsEnabled: false });
  });

  it('reads the reason where Azure puts it: applicationProperties.deadLetterReason / deadLetterErrorDescription', () => {
    expect(readDeadLetterMetadata(azureMetadata)).toEqual({
      sessionId: 'kv.vault.azure.net/app-secret',
      deliveryCount: 11,
      messageId: 'r-1:verify:3',
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
    });
  });

  it('ends the rotation with the reason Service Bus recorded', async () => {
    const reasons: string[] = [];
    const handler = createRotationDeadLettersHandler({
      resolveServices: () =>
        Promise.resolve(
          servicesFailing((_message, reason) => {
            reasons.push(reason);
            return Promise.resolve('failed');
          }),
        ),
    });

    await handler(body, context());

    expect(reasons).toEqual(['MaxDeliveryCountExceeded: Message could not be consumed after 10 delivery attempts.']);
  });

  it('waits longer each time the ledger is down before it throws, so the dead-letter queue never loops hot', async () => {
    const slept: number[] = [];
    const handler = createRotationDeadLettersHandler({
      resolveServices: () => Promise.resolve(servicesFailing(() => Promise.reject(new LedgerError(LedgerErrorCode.Unavailable, 'down')))),
      backoff: { baseMs: 1_000, maxMs: 4_000, maxRedeliveries: Number.POSITIVE_INFINITY },
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });

    for (let i = 0; i < 4; i += 1) await expect(handler(body, context())).rejects.toThrow('down');

    // 1 s, 2 s, 4 s, then capped at 4 s, each ±20 %
    [1_000, 2_000, 4_000, 4_000].forEach((expected, i) => {
      expect(slept[i]).toBeGreaterThanOrEqual(expected * 0.8);
      expect(slept[i]).toBeLessThanOrEqual(expected * 1.2);
    });
  });

  it('throws a real crash at once', async () => {
    const slept: number[] = [];
    const handler = createRotationDeadLettersHandler({
      resolveServices: () => Promise.resolve(servicesFailing(() => Promise.reject(new TypeError('bug')))),
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });

    await expect(handler(body, context())).rejects.toThrow(TypeError);
    expect(slept).toEqual([]);
  });
});
