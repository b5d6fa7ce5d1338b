import { once } from 'node:events';
import rhea, { type Connection, type Message, type Receiver } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/**
 * The drain that ends every `receiveMessages`, checked on the wire. The SDK
 * waits only 200 ms for the broker's answer and then closes its link, so a
 * test through the SDK passes or fails with the machine's load. Here a plain
 * AMQP receiver asks for the drain and waits for the broker's flow frame
 * itself, however long it takes; a broker that never answers fails the test
 * by its timeout.
 */

let h: Harness;
const connections: Connection[] = [];

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  for (const c of connections) c.close();
  await h.close();
});

/** An AMQP connection to the emulator with a token for `queue` on `$cbs`, as the SDK would put it. */
async function authorizedConnection(queue: string): Promise<Connection> {
  const container = rhea.create_container({ id: `drain-${queue}` });
  const connection = container.connect({ host: '127.0.0.1', port: h.emulator.port, username: 'anonymous', reconnect: false });
  connections.push(connection);
  await once(connection, 'connection_open');
  const replies = connection.open_receiver({ source: { address: '$cbs' }, target: { address: 'cbs-replies' } });
  const requests = connection.open_sender({ target: { address: '$cbs' } });
  await Promise.all([once(replies, 'receiver_open'), once(requests, 'sendable')]);
  const answered = once(replies, 'message') as Promise<[{ message: Message }]>;
  requests.send({
    message_id: 'put-token-1',
    reply_to: 'cbs-replies',
    application_properties: { operation: 'put-token', type: 'jwt', name: `sb://127.0.0.1:${h.emulator.port}/${queue}` },
    body: 'a-token',
  });
  const [{ message }] = await answered;
  expect((message.application_properties as Record<string, unknown>)['status-code']).toBe(202);
  return connection;
}

/** The SDK sends a string body as a data section holding its JSON. */
function bodyText(body: unknown): unknown {
  const section = body as { typecode?: number; content?: Buffer };
  return section.typecode === 0x75 && Buffer.isBuffer(section.content) ? (JSON.parse(section.content.toString('utf8')) as unknown) : body;
}

describe('Service Bus emulator: drain', () => {
  it('answers a drain at once with its credit used up, so a later message goes to another receiver', async () => {
    // Prepare: two messages for a receiver that grants ten.
    const queue = h.queue();
    const client = h.client();
    await client.createSender(queue).sendMessages([{ body: 'a' }, { body: 'b' }]);
    const connection = await authorizedConnection(queue);
    const receiver: Receiver = connection.open_receiver({ source: { address: queue }, credit_window: 0, autoaccept: false });
    const bodies: unknown[] = [];
    const both = new Promise<void>((resolve) => {
      receiver.on('message', ({ message }: { message: Message }) => {
        bodies.push(message.body);
        if (bodies.length === 2) resolve();
      });
    });
    await once(receiver, 'receiver_open');
    receiver.add_credit(10);
    await both;

    // Act: drain the eight credits left, and wait for the broker's answer however long it takes.
    const drained = once(receiver, 'receiver_drained');
    receiver.drain_credit();
    await drained;
    await client.createSender(queue).sendMessages({ body: 'c' });
    const [third] = await client.createReceiver(queue).receiveMessages(1, { maxWaitTimeInMs: 20_000 });

    // Assess: the broker kept no credit for the first receiver, which would have taken "c".
    expect((receiver as unknown as { credit: number }).credit).toBe(0); // rhea keeps it, its typings leave it out
    expect(bodies.map(bodyText)).toEqual(['a', 'b']);
    expect(third?.body).toBe('c');
  });
});
