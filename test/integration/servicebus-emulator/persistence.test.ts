import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { afterEach, describe, expect, it } from 'vitest';
import { startServiceBusEmulator, type ServiceBusEmulator } from '../../../emulators/servicebus/index.js';

/**
 * A crash is simulated by copying the state file the moment a client has its
 * answer (what `kill -9` would leave on disk, since the emulator saves before
 * it writes any frame) and starting a second emulator on the copy.
 */

const started: { emulator: ServiceBusEmulator; client: ServiceBusClient }[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const { emulator, client } of started.splice(0)) {
    await client.close();
    await emulator.stop();
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-persist-'));
  dirs.push(dir);
  return dir;
}

// Locks long enough that the first instance settles under them on a busy machine (a 1-s lock ran out between
// accept and receive under load). The plain lock still runs out by itself after the restart; the session's is
// ended on purpose there, so the test does not wait 30 s.
const queues = [
  { name: 'plain', lockDurationMs: 5_000, duplicateDetectionWindowMs: 60_000, maxDeliveryCount: 2 },
  { name: 'steps', requiresSession: true, lockDurationMs: 30_000 },
];

async function start(dataDir: string): Promise<{ emulator: ServiceBusEmulator; client: ServiceBusClient }> {
  const emulator = await startServiceBusEmulator({ dataDir, queues, adminHttp: false });
  const client = new ServiceBusClient(emulator.connectionString);
  const pair = { emulator, client };
  started.push(pair);
  return pair;
}

/** What a kill -9 now would leave: the state file as it is. */
function crashCopy(dataDir: string): string {
  const copy = tempDir();
  copyFileSync(join(dataDir, 'servicebus.json'), join(copy, 'servicebus.json'));
  return copy;
}

describe('Service Bus emulator: persistence across a crash', () => {
  it('keeps sent, scheduled, locked, dead-lettered and session messages, session state and duplicate detection', async () => {
    // Prepare: one message in every state a crash must not lose.
    const dir = tempDir();
    const first = await start(dir);
    const plain = first.client.createSender('plain');
    await plain.sendMessages([{ body: 'waiting', messageId: 'm-1' }, { body: 'locked', messageId: 'm-2' }, { body: 'dead', messageId: 'm-3' }]);
    const [scheduledSeq] = await plain.scheduleMessages({ body: 'later', messageId: 'm-4' }, new Date(Date.now() + 1_500));
    const receiver = first.client.createReceiver('plain');
    const got = await receiver.receiveMessages(3, { maxWaitTimeInMs: 10_000 });
    const dead = got.find((m) => m.body === 'dead')!;
    await receiver.deadLetterMessage(dead, { deadLetterReason: 'test', deadLetterErrorDescription: 'on purpose' });
    const waiting = got.find((m) => m.body === 'waiting')!;
    await receiver.abandonMessage(waiting);
    await first.client.createSender('steps').sendMessages({ body: 'step', sessionId: 'secret-a' });
    const session = await first.client.acceptSession('steps', 'secret-a');
    await session.setSessionState('checkpoint');
    const [step] = await session.receiveMessages(1, { maxWaitTimeInMs: 10_000 });

    // Act: crash now, start again on what is on disk.
    const second = await start(crashCopy(dir));
    const again = second.client.createReceiver('plain');
    const redelivered = await receiveAll(again, 3);
    await second.client.createSender('plain').sendMessages({ body: 'duplicate', messageId: 'm-1' });
    const deadLetters = await second.client.createReceiver('plain', { subQueueType: 'deadLetter' }).receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    const sessionLocksEnded = second.emulator.admin.expireLocks('steps', { sessionId: 'secret-a' });
    const stepsSession = await second.client.acceptSession('steps', 'secret-a');
    const [stepAgain] = await stepsSession.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
    const state = await stepsSession.getSessionState();

    // Assess
    expect(step?.body).toBe('step');
    expect(redelivered.map((m) => [m.body, m.deliveryCount]).sort()).toEqual([
      ['later', 0],
      ['locked', 1],
      ['waiting', 1],
    ]);
    expect(redelivered.find((m) => m.body === 'later')?.sequenceNumber?.toNumber()).toBe(scheduledSeq!.toNumber());
    expect(deadLetters.map((m) => [m.body, m.deadLetterReason])).toEqual([['dead', 'test']]);
    expect(second.emulator.admin.getCounters('plain')).toMatchObject({ duplicatesDropped: 1 });
    expect(sessionLocksEnded).toBeGreaterThan(0);
    expect(stepAgain).toMatchObject({ body: 'step', deliveryCount: 1 });
    expect(state).toBe('checkpoint');
  });
});

/** Receives until `count` messages have come (the locked ones after their lock ran out), bounded by the test timeout. */
async function receiveAll(receiver: ReturnType<ServiceBusClient['createReceiver']>, count: number) {
  const all = [];
  while (all.length < count) {
    const batch = await receiver.receiveMessages(count - all.length, { maxWaitTimeInMs: 2_000 });
    all.push(...batch);
  }
  return all;
}
