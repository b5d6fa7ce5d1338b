import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { createServiceBusStartQueue, parseStartMessage, startMessageId, type EventStart } from '../../../src/events/start-message.js';
import { parseStepMessage, stepSessionId } from '../../../src/queue/step-message.js';

const vaultUrl = 'https://kv-app.vault.azure.net';
const start = (i: number): EventStart => ({ secret: { vaultUrl, name: `secret-${i}` }, version: `${String(i).padStart(4, '0')}abcdef0123456789abcdef01234567`.slice(0, 32), eventType: 'Microsoft.KeyVault.SecretNearExpiry', eventId: `ev-${i}` });

function recordingSender(fail = false) {
  const sends: ServiceBusMessage[][] = [];
  const scheduled: { message: ServiceBusMessage; at: Date }[] = [];
  const sender = {
    sendMessages: (messages: ServiceBusMessage | ServiceBusMessage[]) => {
      sends.push(Array.isArray(messages) ? messages : [messages]);
      return fail ? Promise.reject(new Error('ServiceCommunicationProblem')) : Promise.resolve();
    },
    scheduleMessages: (message: ServiceBusMessage, at: Date) => {
      scheduled.push({ message, at });
      return Promise.resolve([1]);
    },
  } as unknown as ServiceBusSender;
  return { sender, sends, scheduled };
}

describe('start messages', () => {
  it('carry references only, in the secret’s session, with one id per (secret, version) whatever the event', () => {
    const a = start(1);

    expect(startMessageId(a)).toBe(startMessageId({ version: a.version, secret: { vaultUrl, name: 'SECRET-1' } }));
    expect(startMessageId(a)).not.toBe(startMessageId(start(2)));
    expect(startMessageId(a, 2)).toBe(`${startMessageId(a)}:redelivery:2`);
    expect(parseStartMessage(JSON.stringify({ start: a }))).toEqual({ ok: true, start: a });
    expect(parseStartMessage({ start: { ...a, value: 'x' } }).ok).toBe(false);
    expect(parseStepMessage({ start: a }).ok).toBe(false);
  });

  it('go out together: 250 starts enqueued at once are three batch sends, each settling its own', async () => {
    // Prepare
    const { sender, sends } = recordingSender();
    const queue = createServiceBusStartQueue(sender);

    // Act
    await Promise.all(Array.from({ length: 250 }, (_, i) => queue.enqueue(start(i))));

    // Assess
    expect(sends.map((s) => s.length)).toEqual([100, 100, 50]);
    const first = sends[0]![0]!;
    expect(first).toMatchObject({ messageId: startMessageId(start(0)), sessionId: stepSessionId(start(0).secret), subject: 'start', body: { start: start(0) } });
  });

  it('reject every start of a batch the queue refused, so each invocation throws and Event Grid delivers again', async () => {
    const { sender } = recordingSender(true);
    const queue = createServiceBusStartQueue(sender);

    const results = await Promise.allSettled([queue.enqueue(start(1)), queue.enqueue(start(2))]);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('schedule a redelivery copy on its own, with its number', async () => {
    const { sender, sends, scheduled } = recordingSender();
    const queue = createServiceBusStartQueue(sender);
    const at = new Date('2026-12-05T02:00:00Z');

    await queue.enqueue(start(3), { redelivery: 2, notBefore: at });

    expect(sends).toEqual([]);
    expect(scheduled).toEqual([{ at, message: expect.objectContaining({ messageId: startMessageId(start(3), 2), applicationProperties: expect.objectContaining({ rotorRedelivery: 2 }) }) }]);
  });
});
