/**
 * The emulator's control surface: queues at run time, counters, and faults a
 * test or the reliability suite injects. The same calls are offered as an
 * object (in process) and over HTTP on loopback (the local stack runs the
 * emulator in another process).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { ServiceBusBroker } from './broker.js';
import { emulatorErrorCodes, isServiceBusEmulatorError, ServiceBusEmulatorError } from './errors.js';
import { parseQueueConfig, type QueueConfig, type QueueConfigInput } from './queue-config.js';
import type { ExpireLocksSelector, QueueCounters } from './queue.js';

export interface QueueDescription extends QueueConfig {
  readonly counters: QueueCounters;
}

export interface ServiceBusEmulatorAdmin {
  /** Creates a queue; its name must be new (case-insensitive, as in Azure). */
  createQueue(config: QueueConfigInput): QueueConfig;
  deleteQueue(name: string): void;
  listQueues(): QueueDescription[];
  getQueue(name: string): QueueDescription;
  getCounters(name: string): QueueCounters;
  /** Fault: cuts client connections (all, or those using `queue`) without a close frame. Returns how many. */
  dropConnections(options?: { readonly queue?: string }): number;
  /** Fault: ends message locks (and session locks) now, as if they had run out. Returns how many. */
  expireLocks(queue: string, selector?: ExpireLocksSelector): number;
  /** Fault: each of the next `count` deliveries from the queue is delivered a second time. */
  duplicateNextDeliveries(queue: string, count?: number): void;
  /** Fault: a message becomes deliverable only `delayMs` after it becomes ready; 0 ends the delay. */
  delayDeliveries(queue: string, delayMs: number): void;
}

export function createAdmin(broker: ServiceBusBroker): ServiceBusEmulatorAdmin {
  const describe = (name: string): QueueDescription => {
    const queue = broker.getQueue(name);
    return { ...queue.config, counters: queue.counters() };
  };
  return {
    createQueue: (config) => broker.createQueue(parseQueueConfig(config)).config,
    deleteQueue: (name) => broker.deleteQueue(name),
    listQueues: () => broker.queues().map((q) => describe(q.name)),
    getQueue: describe,
    getCounters: (name) => broker.getQueue(name).counters(),
    dropConnections: (options) => broker.dropConnections(options?.queue),
    expireLocks: (name, selector = {}) => {
      const queue = broker.getQueue(name);
      const ended = queue.expireLocks(selector);
      broker.poke(queue);
      return ended;
    },
    duplicateNextDeliveries: (name, count = 1) => {
      if (!Number.isInteger(count) || count < 1) throw invalid('count', 'must be a whole number of at least 1');
      broker.getQueue(name).faults.duplicateDeliveries += count;
    },
    delayDeliveries: (name, delayMs) => {
      if (!Number.isInteger(delayMs) || delayMs < 0) throw invalid('delayMs', 'must be a whole number of milliseconds, 0 or more');
      const queue = broker.getQueue(name);
      queue.faults.deliveryDelayMs = delayMs;
      broker.poke(queue);
    },
  };
}

function invalid(field: string, message: string): ServiceBusEmulatorError {
  return new ServiceBusEmulatorError(emulatorErrorCodes.invalidOptions, `${field} ${message}`, { field });
}

// ---- HTTP surface -------------------------------------------------------------------

const expireLocksBody = z.strictObject({
  lockToken: z.uuid().optional(),
  sequenceNumber: z.number().int().min(1).optional(),
  sessionId: z.string().min(1).optional(),
});
const duplicateBody = z.strictObject({ count: z.number().int().min(1).default(1) });
const delayBody = z.strictObject({ delayMs: z.number().int().min(0) });
const dropBody = z.strictObject({ queue: z.string().min(1).optional() });

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function parseWith<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(body)';
  throw new HttpProblem(400, `${field} ${issue?.message ?? 'is malformed'}`, field);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpProblem(400, 'the request body is not valid JSON', '(body)');
  }
}

function send(response: ServerResponse, status: number, body?: unknown, contentType = 'application/json'): void {
  response.writeHead(status, body === undefined ? {} : { 'content-type': contentType });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

/**
 * Routes (JSON in and out; errors as problem+json naming the field):
 * `GET /queues`, `GET|PUT|DELETE /queues/{name}`, `GET /queues/{name}/counters`,
 * `POST /queues/{name}/faults/{expire-locks|duplicate-deliveries|delay-deliveries}`,
 * `POST /faults/drop-connections`.
 */
async function route(admin: ServiceBusEmulatorAdmin, request: IncomingMessage): Promise<{ status: number; body?: unknown }> {
  const url = new URL(request.url ?? '/', 'http://admin');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = request.method ?? 'GET';
  const [root, name, section, fault] = parts;
  if (root === 'faults' && name === 'drop-connections' && parts.length === 2 && method === 'POST') {
    const body = parseWith(dropBody, await readJson(request));
    return { status: 200, body: { dropped: admin.dropConnections(body.queue === undefined ? {} : { queue: body.queue }) } };
  }
  if (root !== 'queues') throw new HttpProblem(404, `no route for ${method} ${url.pathname}`);
  if (name === undefined) {
    if (method === 'GET') return { status: 200, body: admin.listQueues() };
    throw new HttpProblem(405, `${method} is not allowed on /queues`);
  }
  if (section === undefined) {
    switch (method) {
      case 'GET':
        return { status: 200, body: admin.getQueue(name) };
      case 'PUT': {
        const body = await readJson(request);
        const config = typeof body === 'object' && body !== null ? { ...body, name } : body;
        return { status: 201, body: admin.createQueue(config as QueueConfigInput) };
      }
      case 'DELETE':
        admin.deleteQueue(name);
        return { status: 204 };
      default:
        throw new HttpProblem(405, `${method} is not allowed on /queues/${name}`);
    }
  }
  if (section === 'counters' && fault === undefined && method === 'GET') return { status: 200, body: admin.getCounters(name) };
  if (section === 'faults' && method === 'POST') {
    const body = await readJson(request);
    switch (fault) {
      case 'expire-locks':
        return { status: 200, body: { expired: admin.expireLocks(name, parseWith(expireLocksBody, body)) } };
      case 'duplicate-deliveries':
        admin.duplicateNextDeliveries(name, parseWith(duplicateBody, body).count);
        return { status: 204 };
      case 'delay-deliveries':
        admin.delayDeliveries(name, parseWith(delayBody, body).delayMs);
        return { status: 204 };
      case undefined:
      default:
        break;
    }
  }
  throw new HttpProblem(404, `no route for ${method} ${url.pathname}`);
}

const statusOfCode: Record<string, number> = {
  [emulatorErrorCodes.queueNotFound]: 404,
  [emulatorErrorCodes.queueAlreadyExists]: 409,
  [emulatorErrorCodes.invalidQueueConfiguration]: 400,
  [emulatorErrorCodes.invalidOptions]: 400,
};

/** Serves the admin object on loopback; resolves with the base URL. */
export async function serveAdmin(admin: ServiceBusEmulatorAdmin, host: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    route(admin, request).then(
      (result) => send(response, result.status, result.body),
      (error: unknown) => {
        const problem =
          error instanceof HttpProblem
            ? { status: error.status, detail: error.message, field: error.field }
            : isServiceBusEmulatorError(error)
              ? { status: statusOfCode[error.code] ?? 400, detail: error.message, field: error.field }
              : { status: 500, detail: error instanceof Error ? error.message : String(error), field: undefined };
        send(response, problem.status, { type: 'about:blank', title: 'Service Bus emulator admin request failed', ...problem }, 'application/problem+json');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, server };
}
