/**
 * Event Grid emulator figures: start-up time, webhook delivery throughput
 * (system topic → one Event Grid schema subscription) and publish throughput
 * of the real EventGridPublisherClient against the custom topic.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { startEventGridEmulator, type KeyVaultSystemEvent } from '../emulators/eventgrid/index.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function keyVaultEvent(i: number): KeyVaultSystemEvent {
  const version = i.toString(16).padStart(32, '0');
  return {
    id: `bench-${i}`,
    topic: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-bench',
    subject: `secret-${i}`,
    eventType: 'Microsoft.KeyVault.SecretNearExpiry',
    eventTime: new Date().toISOString(),
    data: { Id: `https://kv-bench.vault.azure.net/secrets/secret-${i}/${version}`, VaultName: 'kv-bench', ObjectType: 'Secret', ObjectName: `secret-${i}`, Version: version, NBF: null, EXP: 1770000000 },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

export default async function bench(): Promise<void> {
  // Start-up: 20 start/stop cycles.
  const starts: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const t0 = performance.now();
    const eventGrid = await startEventGridEmulator();
    starts.push(performance.now() - t0);
    await eventGrid.stop();
  }
  console.log(`start-up: median ${median(starts).toFixed(1)} ms over 20 starts`);

  // Delivery: 2,000 events through the handshake-validated subscription to a local webhook.
  const webhook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
        const [event] = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { validationCode: string } }[];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ validationResponse: event?.data.validationCode }));
        return;
      }
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const endpointUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/api/events`;
  const eventGrid = await startEventGridEmulator();
  try {
    await eventGrid.admin.createSubscription({ name: 'bench', endpointUrl });
    const count = 2000;
    const t0 = performance.now();
    eventGrid.publish(Array.from({ length: count }, (_, i) => keyVaultEvent(i)));
    await eventGrid.admin.waitForIdle({ timeoutMs: 120_000 });
    const seconds = (performance.now() - t0) / 1000;
    const delivered = eventGrid.admin.getSubscription('bench')?.counters.delivered ?? 0;
    console.log(`delivery: ${delivered} events in ${seconds.toFixed(2)} s = ${(delivered / seconds).toFixed(0)} events/s (one request per event, 64 in flight)`);

    // Publishing: 200 sends of 10 CloudEvents each with the real client.
    const client = new EventGridPublisherClient(eventGrid.topicEndpoint, 'CloudEvent', new AzureKeyCredential(eventGrid.topicKey), { allowInsecureConnection: true });
    const sends = 200;
    const t1 = performance.now();
    for (let i = 0; i < sends; i += 1) {
      await client.send(Array.from({ length: 10 }, (_, j) => ({ type: 'Rotor.Bench', source: '/rotor/bench', subject: `s-${i}-${j}`, data: { i, j } })));
    }
    const publishSeconds = (performance.now() - t1) / 1000;
    console.log(`publish: ${sends} sequential sends of 10 CloudEvents in ${publishSeconds.toFixed(2)} s = ${(sends / publishSeconds).toFixed(0)} sends/s`);
  } finally {
    await eventGrid.stop();
    webhook.closeAllConnections();
    await new Promise<void>((resolve) => webhook.close(() => resolve()));
  }
}
