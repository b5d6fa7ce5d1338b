import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';

/** One request a receiver got, as it arrived on the wire. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Never answer (the emulator's endpoint timeout must fire). */
  readonly hang?: boolean;
}

export type Responder = (request: ReceivedRequest) => Reply | Promise<Reply>;

export interface WebhookReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Event deliveries only (`aeg-event-type: Notification`). */
  notifications(): ReceivedRequest[];
  waitForNotifications(count: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

const deserializer = new EventGridDeserializer();

/** A real webhook on an ephemeral loopback port, answering with `respond`. */
export async function startWebhookReceiver(respond: Responder): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const changes = new EventEmitter();
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(request);
      Promise.resolve(respond(request))
        .then((reply) => {
          if (reply.hang === true) {
            hanging.push(res);
            return;
          }
          res.writeHead(reply.status, reply.headers ?? {});
          res.end(reply.body);
        })
        .catch((error: unknown) => {
          res.writeHead(599);
          res.end(String(error));
        })
        .finally(() => changes.emit('request'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const notifications = () => requests.filter((r) => r.headers['aeg-event-type'] === 'Notification');
  return {
    url: `http://127.0.0.1:${port}/api/events`,
    requests,
    notifications,
    waitForNotifications: (count) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (notifications().length >= count) {
            clearTimeout(timer);
            changes.off('request', check);
            resolve(notifications());
          }
        };
        const timer = setTimeout(() => {
          changes.off('request', check);
          reject(new Error(`receiver got ${notifications().length} of ${count} notifications`));
        }, 10_000);
        changes.on('request', check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers both handshakes the way a correct endpoint does (parsing the validation event with the SDK). */
export async function answerHandshake(request: ReceivedRequest): Promise<Reply | undefined> {
  if (request.method === 'OPTIONS') {
    const origin = request.headers['webhook-request-origin'];
    return { status: 200, headers: { 'WebHook-Allowed-Origin': String(origin), 'WebHook-Allowed-Rate': '*' } };
  }
  if (request.headers['aeg-event-type'] === 'SubscriptionValidation') {
    const [event] = await deserializer.deserializeEventGridEvents(request.body);
    if (event === undefined || !isSystemEvent('Microsoft.EventGrid.SubscriptionValidationEvent', event)) {
      return { status: 400, body: 'not a validation event' };
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ validationResponse: event.data.validationCode }) };
  }
  return undefined;
}

/** Validates, then answers deliveries with `statuses` in order (the last one repeats). */
export function validatingResponder(...statuses: number[]): Responder {
  let index = 0;
  return async (request) => {
    const handshake = await answerHandshake(request);
    if (handshake !== undefined) return handshake;
    const status = statuses[Math.min(index, statuses.length - 1)] ?? 200;
    index += 1;
    return { status };
  };
}

/** The body as JSON; tests read wire shapes loosely, as the lint config allows for test/. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a delivered body is whatever the emulator sent; assertions check it
export function parseJson(request: ReceivedRequest): any {
  return JSON.parse(request.body);
}
