import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseIsoDuration } from '../../src/time/iso-duration.js';
import type { KeyVaultEmulatorAdmin } from './admin.js';
import { EmulatorAdminError, isEmulatorAdminError } from './errors.js';
import type { FaultRuleInput } from './faults.js';

export const ADMIN_PREFIX = '/_admin';

const clockChange = z
  .object({
    advanceMs: z.number().finite().optional(),
    advanceBy: z
      .string()
      .refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO-8601 duration such as P31D or PT1H')
      .optional(),
    set: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }).optional(),
  })
  .refine((v) => [v.advanceMs, v.advanceBy, v.set].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of advanceMs, advanceBy, set',
    path: ['advanceMs'],
  });

const throttleChange = z.union([
  z.object({ enabled: z.literal(false) }).strict(),
  z
    .object({
      enabled: z.literal(true).optional(),
      windowMs: z.number().int().min(1).optional(),
      createsPerWindow: z.number().int().min(0).optional(),
      othersPerWindow: z.number().int().min(0).optional(),
    })
    .strict(),
]);

interface AdminAnswer {
  status: number;
  body?: unknown;
}

/**
 * The admin surface over HTTP, for an emulator running in another process
 * (`curl -X POST .../_admin/clock -d '{"advanceBy":"P31D"}'`). No token: it
 * listens where the emulator listens, on the loopback interface by default.
 */
export async function handleAdminRequest(
  admin: KeyVaultEmulatorAdmin,
  describe: () => unknown,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  let answer: AdminAnswer;
  try {
    const raw = await readText(req);
    answer = route(admin, describe, req.method ?? 'GET', url.pathname.slice(ADMIN_PREFIX.length), raw);
  } catch (error) {
    if (isEmulatorAdminError(error)) {
      const problem = { type: 'about:blank', title: 'Invalid admin request', status: 400, detail: error.message, field: error.field };
      res.writeHead(400, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
      return;
    }
    console.error(`[keyvault-emulator] admin request failed: ${error instanceof Error ? error.message : 'unknown'}`);
    res.writeHead(500, { 'content-type': 'application/problem+json' }).end(
      JSON.stringify({ type: 'about:blank', title: 'Admin request failed', status: 500 }),
    );
    return;
  }
  if (answer.body === undefined) {
    res.writeHead(answer.status).end();
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
}

function route(admin: KeyVaultEmulatorAdmin, describe: () => unknown, method: string, path: string, raw: string): AdminAnswer {
  const key = `${method} ${path.replace(/\/$/, '')}`;
  if (key === 'GET ') return { status: 200, body: describe() };
  if (key === 'GET /clock') return { status: 200, body: { now: admin.clock.now().toISOString() } };
  if (key === 'POST /clock') {
    const change = parse(clockChange, raw);
    if (change.set !== undefined) admin.clock.set(change.set);
    else admin.clock.advance(change.advanceMs ?? parseIsoDuration(change.advanceBy ?? '') ?? 0);
    return { status: 200, body: { now: admin.clock.now().toISOString() } };
  }
  if (key === 'GET /counters') return { status: 200, body: admin.counters() };
  if (key === 'DELETE /counters') {
    admin.resetCounters();
    return { status: 204 };
  }
  if (key === 'GET /faults') return { status: 200, body: admin.faults.list() };
  if (key === 'POST /faults') return { status: 201, body: admin.faults.inject(parse(z.unknown(), raw) as FaultRuleInput) /* validated inside inject */ };
  if (key === 'DELETE /faults') {
    admin.faults.clear();
    return { status: 204 };
  }
  const faultId = /^DELETE \/faults\/([\w-]+)$/.exec(key)?.[1];
  if (faultId !== undefined) return { status: admin.faults.remove(faultId) ? 204 : 404 };
  if (key === 'GET /throttle') return { status: 200, body: { limits: admin.throttle.limits() ?? null, usage: admin.throttle.usage() } };
  if (key === 'PUT /throttle') {
    const change = parse(throttleChange, raw);
    if (change.enabled === false) admin.throttle.configure(false);
    else {
      const { enabled: _enabled, ...limits } = change;
      admin.throttle.configure(limits);
    }
    return { status: 200, body: { limits: admin.throttle.limits() ?? null } };
  }
  if (key === 'GET /events') return { status: 200, body: admin.events() };
  if (key === 'DELETE /events') {
    admin.clearEvents();
    return { status: 204 };
  }
  if (key === 'POST /expiry-check') {
    admin.checkExpiry();
    return { status: 204 };
  }
  if (key === 'POST /reset') {
    admin.reset();
    return { status: 204 };
  }
  return { status: 404, body: { type: 'about:blank', title: 'No such admin route', status: 404, detail: key } };
}

function parse<T>(schema: z.ZodType<T>, raw: string): T {
  let json: unknown;
  try {
    json = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw new EmulatorAdminError('body', 'is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EmulatorAdminError(issue?.path.join('.') || 'body', issue?.message ?? 'is invalid');
  }
  return result.data;
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new EmulatorAdminError('body', 'is larger than 64 KiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
