import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventGridNotifier } from '../../../src/notify/event-grid-notifier.js';
import { createLogger, createMemorySink } from '../../../src/observability/logger.js';
import { NotificationType, type RotationNotification } from '../../../src/rotation/ports.js';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A topic endpoint that records what the real EventGridPublisherClient sends and answers with `status`. */
describe('createEventGridNotifier', () => {
  const received: Received[] = [];
  let status = 200;
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = status;
        res.end(status === 200 ? '' : JSON.stringify({ error: { code: 'BadRequest', message: 'no' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const notification: RotationNotification = {
    type: NotificationType.RolledBack,
    rotationId: 'r-123',
    secret: { vaultUrl: 'https://kv-app.vault.azure.net', name: 'db-password' },
    status: 'RolledBack',
    versions: { previous: 'v1', promoted: 'v2', restored: 'v3' },
    reason: 'health probe https://app/health answered 500',
    durationMs: 4200,
  };

  it('publishes one CloudEvent with the topic key, references and reason', async () => {
    // Prepare
    status = 200;
    received.length = 0;
    const sink = createMemorySink();
    const notifier = createEventGridNotifier({ endpoint, credential: { key: 'topic-key-123' }, log: createLogger(sink), maxRetries: 0 });

    // Act
    await notifier.notify(notification);

    // Assess
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.headers['aeg-sas-key']).toBe('topic-key-123');
    expect(request?.headers['content-type']).toContain('application/cloudevents-batch+json');
    const [event] = JSON.parse(request!.body);
    expect(event).toMatchObject({
      specversion: '1.0',
      id: 'r-123/Rotor.Rotation.RolledBack',
      type: 'Rotor.Rotation.RolledBack',
      source: '/rotor',
      subject: 'kv-app.vault.azure.net/db-password',
      data: { rotationId: 'r-123', vaultUrl: 'https://kv-app.vault.azure.net', secretName: 'db-password', status: 'RolledBack', versions: { promoted: 'v2' }, durationMs: 4200 },
    });
  });

  it('logs a failed send and resolves, so a rotation never fails for a notification', async () => {
    status = 400;
    const sink = createMemorySink();
    const notifier = createEventGridNotifier({ endpoint, credential: { key: 'k' }, log: createLogger(sink), maxRetries: 0 });

    await expect(notifier.notify(notification)).resolves.toBeUndefined();

    expect(sink.records.at(-1)).toMatchObject({ level: 'warn', message: 'notification not sent', fields: { rotationId: 'r-123' } });
  });
});
