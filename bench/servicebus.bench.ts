/**
 * Service Bus emulator throughput: 10,000 messages sent in batches and
 * received with complete through the real `@azure/service-bus` client, the
 * emulator in the same process. Prints messages per second for each phase
 * and the process's peak resident memory.
 */
import { ServiceBusClient, type ServiceBusMessage } from '@azure/service-bus';
import { startServiceBusEmulator } from '../emulators/servicebus/index.js';

const total = 10_000;
const receiveBatch = 500;

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} msg/s`;
}

export default async function benchServiceBus(): Promise<void> {
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);

  const emulator = await startServiceBusEmulator({ adminHttp: false, queues: [{ name: 'bench' }, { name: 'bench-sessions', requiresSession: true }] });
  const client = new ServiceBusClient(emulator.connectionString);
  try {
    const messages: ServiceBusMessage[] = Array.from({ length: total }, (_, i) => ({
      body: { rotation: `r-${i}`, step: 'verify', attempt: 1 },
      messageId: `m-${i}`,
      sessionId: `secret-${i % 50}`,
      applicationProperties: { kind: 'step' },
    }));

    // Plain queue: batched sends, then receiveMessages + completeMessage.
    const sender = client.createSender('bench');
    let started = performance.now();
    let batches = 0;
    let batch = await sender.createMessageBatch();
    for (const { sessionId: _unused, ...message } of messages) {
      if (!batch.tryAddMessage(message)) {
        await sender.sendMessages(batch);
        batches += 1;
        batch = await sender.createMessageBatch();
        batch.tryAddMessage(message);
      }
    }
    await sender.sendMessages(batch);
    batches += 1;
    const sendMs = performance.now() - started;

    const receiver = client.createReceiver('bench');
    started = performance.now();
    let received = 0;
    while (received < total) {
      const got = await receiver.receiveMessages(receiveBatch, { maxWaitTimeInMs: 2000 });
      if (got.length === 0) throw new Error(`receive stalled after ${received} messages`);
      await Promise.all(got.map((m) => receiver.completeMessage(m)));
      received += got.length;
    }
    const receiveMs = performance.now() - started;

    // Session queue, as Rotor uses it: 50 sessions, subscribe() with auto-complete.
    const sessionSender = client.createSender('bench-sessions');
    started = performance.now();
    for (let i = 0; i < total; i += 1000) await sessionSender.sendMessages(messages.slice(i, i + 1000));
    const sessionSendMs = performance.now() - started;
    started = performance.now();
    let handled = 0;
    while (handled < total) {
      const sessionReceiver = await client.acceptNextSession('bench-sessions');
      const expected = total / 50;
      await new Promise<void>((resolve, reject) => {
        let inSession = 0;
        const subscription = sessionReceiver.subscribe(
          {
            processMessage: () => {
              inSession += 1;
              handled += 1;
              if (inSession === expected) setImmediate(resolve);
              return Promise.resolve();
            },
            processError: (args) => {
              reject(args.error);
              return Promise.resolve();
            },
          },
          { autoCompleteMessages: true, maxConcurrentCalls: 1 },
        );
        void subscription;
      });
      await sessionReceiver.close();
    }
    const sessionReceiveMs = performance.now() - started;

    const counters = emulator.admin.getCounters('bench');
    if (counters.completed !== total || counters.active !== 0) throw new Error(`unexpected counters ${JSON.stringify(counters)}`);
    clearInterval(sampler);
    const maxRssKb = process.resourceUsage().maxRSS;
    console.log(`send (batched, ${batches} batches):      ${rate(total, sendMs)} (${Math.round(sendMs)} ms)`);
    console.log(`receive + complete (batches of ${receiveBatch}): ${rate(total, receiveMs)} (${Math.round(receiveMs)} ms)`);
    console.log(`session queue send (arrays of 1000):     ${rate(total, sessionSendMs)} (${Math.round(sessionSendMs)} ms)`);
    console.log(`session subscribe + auto-complete (50 sessions): ${rate(total, sessionReceiveMs)} (${Math.round(sessionReceiveMs)} ms)`);
    const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);
    console.log(`peak RSS: ${mib(Math.max(peakRss, maxRssKb * 1024))} MiB (client and emulator in one process; ${mib(startRss)} MiB before the run)`);
  } finally {
    clearInterval(sampler);
    await client.close();
    await emulator.stop();
  }
}
