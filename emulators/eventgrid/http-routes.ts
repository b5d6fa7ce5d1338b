import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { EventGridEmulatorCore } from './emulator.js';
import { isEventGridEmulatorError, type EventGridEmulatorErrorCode, type FieldProblem } from './errors.js';
import { problemsOf } from './schemas.js';
import { authorizePublish } from './topic-auth.js';
import { maxPublishBytes, parsePublishBody } from './topic-publish.js';

const maxAdminBytes = 4 * 1024 * 1024;

interface Body {
  readonly raw: Buffer;
  readonly tooLarge: boolean;
}

/** Reads the whole body, keeping at most `limit` bytes (the rest is drained so the client sees our answer). */
function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ raw: Buffer.concat(chunks), tooLarge: size > limit }));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body?: unknown, contentType = 'application/json; charset=utf-8'): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0' });
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** The data plane's error body: `{ error: { code, message, details } }`. */
function topicError(res: ServerResponse, status: number, code: string, message: string, problems: readonly FieldProblem[] = []): void {
  send(res, status, {
    error: {
      code,
      message,
      ...(problems.length === 0 ? {} : { details: problems.map((p) => ({ code: 'InputJsonInvalid', message: `${p.field}: ${p.message}` })) }),
    },
  });
}

/** Admin answers are problem+json naming each bad field. */
function problem(res: ServerResponse, status: number, title: string, detail: string, errors: readonly FieldProblem[] = []): void {
  send(res, status, { type: 'about:blank', title, status, detail, ...(errors.length === 0 ? {} : { errors }) }, 'application/problem+json; charset=utf-8');
}

function statusOfCode(code: EventGridEmulatorErrorCode): number {
  switch (code) {
    case 'InvalidSubscription':
    case 'InvalidEvent':
    case 'InvalidRequest':
    case 'SubscriptionValidationFailed':
      return 400;
    case 'SubscriptionNotFound':
    case 'TopicNotFound':
      return 404;
    case 'SubscriptionExists':
      return 409;
    case 'WaitTimedOut':
      return 408;
    case 'Stopped':
      return 503;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const body = await readBody(req, maxAdminBytes);
  if (body.tooLarge) {
    problem(res, 413, 'Payload Too Large', `Admin requests are limited to ${maxAdminBytes} bytes.`);
    return { ok: false };
  }
  if (body.raw.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(body.raw.toString('utf8')) };
  } catch {
    problem(res, 400, 'Bad Request', 'The body is not valid JSON.', [{ field: '(body)', message: 'must be JSON' }]);
    return { ok: false };
  }
}

const duplicateRuleSchema = z.strictObject({
  subscription: z.string().min(1).optional(),
  remaining: z.number().int().min(1).optional(),
  fraction: z.number().min(0).max(1).optional(),
});
const regenerateKeySchema = z.strictObject({ keyName: z.enum(['key1', 'key2'], { error: 'must be key1 or key2' }) });

/** `POST /topics/<name>/api/events?api-version=...`: what `EventGridPublisherClient.send` calls. */
async function publishToTopic(core: EventGridEmulatorCore, topicName: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const body = await readBody(req, maxPublishBytes);
  const topic = core.customTopic(topicName);
  if (topic === undefined) {
    topicError(res, 404, 'NotFound', `No topic named '${topicName}'.`);
    return;
  }
  if (req.method !== 'POST') {
    topicError(res, 405, 'MethodNotAllowed', 'Events are published with POST.');
    return;
  }
  const auth = authorizePublish(
    { sasKey: header(req, 'aeg-sas-key'), sasToken: header(req, 'aeg-sas-token'), authorization: header(req, 'authorization') },
    topic.keys,
    topic.endpoint,
  );
  if (!auth.ok) {
    topicError(res, 401, 'Unauthorized', `The request is not authorized for topic '${topic.name}': ${auth.reason}.`);
    return;
  }
  if (url.searchParams.get('api-version') === null) {
    topicError(res, 400, 'BadRequest', 'The api-version query parameter is required (for example api-version=2018-01-01).');
    return;
  }
  if (body.tooLarge) {
    topicError(res, 413, 'RequestEntityTooLarge', `The request exceeds the ${maxPublishBytes}-byte limit for a batch (and for each event in it).`);
    return;
  }
  const parsed = parsePublishBody(topic, header(req, 'content-type'), body.raw);
  if (!parsed.ok) {
    topicError(res, 400, 'BadRequest', parsed.message, parsed.problems);
    return;
  }
  core.acceptPublished(topic.name, parsed.events);
  send(res, 200);
}

async function admin(core: EventGridEmulatorCore, segments: readonly string[], req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const [resource, name, action] = segments;
  const method = req.method ?? 'GET';
  const route = `${method} ${resource ?? ''}${name === undefined ? '' : '/:name'}${action === undefined ? '' : `/${action}`}`;
  switch (route) {
    case 'GET topics':
      send(res, 200, core.topics());
      return;
    case 'GET subscriptions':
      send(res, 200, core.listSubscriptions());
      return;
    case 'POST subscriptions': {
      const body = await readJson(req, res);
      if (!body.ok) return;
      // Validated by the core (zod), which names each bad field.
      send(res, 201, await core.createSubscription(body.value as Parameters<typeof core.createSubscription>[0]));
      return;
    }
    case 'GET subscriptions/:name': {
      const info = core.getSubscription(name ?? '');
      if (info === undefined) problem(res, 404, 'Not Found', `No subscription named '${name}'.`);
      else send(res, 200, info);
      return;
    }
    case 'DELETE subscriptions/:name':
      if (core.deleteSubscription(name ?? '')) send(res, 204);
      else problem(res, 404, 'Not Found', `No subscription named '${name}'.`);
      return;
    case 'GET dead-letters':
      send(res, 200, core.deadLetters({ ...optionalParam(url, 'subscription') }));
      return;
    case 'GET attempts':
      send(res, 200, core.attempts({ ...optionalParam(url, 'subscription') }));
      return;
    case 'GET published':
      send(res, 200, core.published({ ...optionalParam(url, 'topic') }));
      return;
    case 'POST system-events': {
      const body = await readJson(req, res);
      if (!body.ok) return;
      if (!Array.isArray(body.value)) {
        problem(res, 400, 'Bad Request', 'The body must be a JSON array of Event Grid schema events.', [{ field: '(body)', message: 'must be an array' }]);
        return;
      }
      core.publish(body.value as Parameters<typeof core.publish>[0]);
      send(res, 200, { accepted: body.value.length });
      return;
    }
    case 'POST duplicates': {
      const body = await readJson(req, res);
      if (!body.ok) return;
      const rule = duplicateRuleSchema.safeParse(body.value);
      if (!rule.success) {
        problem(res, 400, 'Bad Request', 'Invalid duplicate rule.', problemsOf(rule.error));
        return;
      }
      core.injectDuplicates(rule.data);
      send(res, 204);
      return;
    }
    case 'DELETE duplicates':
      core.clearDuplicateInjection();
      send(res, 204);
      return;
    case 'POST topics/:name/regenerate-key': {
      const body = await readJson(req, res);
      if (!body.ok) return;
      const parsed = regenerateKeySchema.safeParse(body.value);
      if (!parsed.success) {
        problem(res, 400, 'Bad Request', 'Invalid key regeneration request.', problemsOf(parsed.error));
        return;
      }
      send(res, 200, { keyName: parsed.data.keyName, key: core.regenerateKey(name ?? '', parsed.data.keyName) });
      return;
    }
    default:
      problem(res, 404, 'Not Found', `No admin route ${method} /_admin/${segments.join('/')}.`);
  }
}

function optionalParam(url: URL, name: string): Record<string, string> {
  const value = url.searchParams.get(name);
  return value === null ? {} : { [name]: value };
}

/** The emulator's request handler: topic endpoints, validation URLs and `/_admin`. */
export function createRequestHandler(core: EventGridEmulatorCore): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    let segments: string[];
    try {
      segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
      await readBody(req, maxAdminBytes);
      problem(res, 400, 'Bad Request', 'The request path is not URL-encoded correctly.');
      return;
    }
    if (segments[0] === 'topics' && segments.length === 4 && segments[2] === 'api' && segments[3] === 'events') {
      await publishToTopic(core, segments[1] ?? '', req, res, url);
      return;
    }
    if (segments[0] === '_validation' && segments.length === 2 && (req.method === 'GET' || req.method === 'POST')) {
      await readBody(req, maxAdminBytes);
      const granted = core.completeManualValidation(segments[1] ?? '', url.searchParams.get('token') ?? '');
      if (granted) send(res, 200, 'Webhook successfully validated as a result of a manual validation request.', 'text/plain; charset=utf-8');
      else problem(res, 404, 'Not Found', 'No pending validation matches this URL (it may have expired).');
      return;
    }
    if (segments[0] === '_admin') {
      await admin(core, segments.slice(1), req, res, url);
      return;
    }
    await readBody(req, maxAdminBytes);
    problem(res, 404, 'Not Found', `Nothing is served at ${url.pathname}. Topics: /topics/<name>/api/events; admin: /_admin/...`);
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (isEventGridEmulatorError(error)) problem(res, statusOfCode(error.code), error.code, error.message, error.problems);
      else problem(res, 500, 'Internal Server Error', error instanceof Error ? error.message : String(error));
    });
  };
}
