import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../../emulators/keyvault/index.js';
import { startEmulatorStack, type EmulatorStack } from '../../../emulators/stack.js';

/** A webhook that answers the Event Grid handshake and records deliveries. */
async function startWebhook(): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const events = JSON.parse(text) as { eventType: string; data: { validationCode?: string } }[];
      const first = events[0];
      if (first?.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ validationResponse: first.data.validationCode }));
        return;
      }
      bodies.push(...events);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, server };
}

describe('emulator stack', () => {
  let stack: EmulatorStack;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;

  beforeAll(async () => {
    stack = await startEmulatorStack({ keyVault: { throttle: false } });
    webhook = await startWebhook();
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => webhook?.server.close(resolve));
  });

  it('delivers a Key Vault write to an Event Grid subscription as Key Vault would', async () => {
    // Prepare
    await stack.eventGrid.admin.createSubscription({
      name: 'intake',
      endpointUrl: webhook.url,
      eventDeliverySchema: 'EventGridSchema',
      filter: { includedEventTypes: ['Microsoft.KeyVault.SecretNewVersionCreated'] },
    });
    const client = createEmulatorSecretClient(stack.keyVault);

    // Act
    const written = await client.setSecret('stack-check', 'stack-check-value-1');
    await stack.eventGrid.admin.waitForIdle();

    // Assess
    const delivered = webhook.bodies as { eventType: string; subject: string; data: Record<string, unknown> }[];
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.eventType).toBe('Microsoft.KeyVault.SecretNewVersionCreated');
    expect(delivered[0]?.data.ObjectName).toBe('stack-check');
    expect(delivered[0]?.data.Version).toBe(written.properties.version);
    expect(stack.endpoints().keyVault.url).toBe(stack.keyVault.url);
  });

  it("serves Rotor's session-enabled step queue to the real Service Bus client", async () => {
    // Prepare
    const { connectionString, queues } = stack.endpoints().serviceBus;
    const client = new ServiceBusClient(connectionString);
    try {
      // Act
      await client.createSender('rotation-steps').sendMessages({ body: { step: 'begin' }, sessionId: 'kv/stack-check' });
      const receiver = await client.acceptSession('rotation-steps', 'kv/stack-check');
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
      await receiver.completeMessage(message!);

      // Assess
      expect(queues).toContain('rotation-steps');
      expect(message?.body).toEqual({ step: 'begin' });
    } finally {
      await client.close();
    }
  });
});
