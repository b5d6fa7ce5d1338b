import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { secretNameSchema, vaultUrlSchema } from '../keyvault/secret-ref.js';
import { fieldsFromZod, problem, ProblemType, type ProblemField } from './problem.js';

/** Either the checked value or the problem response to send instead. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly response: HttpResponseInit };

/** Bodies are a few fields; anything larger is a mistake or an attack. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Control characters end up in logs and audit records; a reason never needs them. */
function hasControlCharacters(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export const startRotationBodySchema = z.strictObject({
  vault: z.string({ error: 'must be a vault URL string' }).max(2048, 'is too long').pipe(vaultUrlSchema).optional(),
  secret: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required: the secret name' : 'must be a string: the secret name') })
    .pipe(secretNameSchema),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  /** Rotate a paused secret (`rotor-paused=true`) all the same. */
  force: z.boolean({ error: 'must be true or false' }).optional(),
  reason: z
    .string({ error: 'must be a string' })
    .max(500, 'must be at most 500 characters')
    .refine((v) => !hasControlCharacters(v), 'must not contain control characters')
    .optional(),
});
export type StartRotationBody = z.infer<typeof startRotationBodySchema>;

/** Ids come from the engine; this bounds what may reach the ledger as a blob name. */
export const rotationIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a rotation id (letters, digits, ".", "_", ":", "-"; at most 200)');

/** `limit` of a paged listing: a whole number from 1 to `max`. */
function pageLimit(max: number, why = '') {
  return z
    .string()
    .regex(/^\d{1,4}$/, `must be a whole number from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}${why}`))
    .optional();
}

/** A `continuationToken` handed back from a previous page's `nextLink`. */
const continuationTokenSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(4096, 'is too long')
  .regex(/^[\x21-\x7e]+$/, 'must be the token from a previous nextLink')
  .optional();

export const historyQuerySchema = z.object({
  vault: z.string().max(2048, 'is too long').pipe(vaultUrlSchema).optional(),
  limit: pageLimit(100),
  continuationToken: continuationTokenSchema,
});

export const secretsQuerySchema = z.object({
  vault: z.string().max(2048, 'is too long').pipe(vaultUrlSchema).optional(),
  limit: pageLimit(25, ' (one Key Vault page)'),
  continuationToken: continuationTokenSchema,
});

function invalid(request: HttpRequest, detail: string, errors: readonly ProblemField[]): Checked<never> {
  return { ok: false, response: problem(ProblemType.InvalidRequest, 400, detail, { instance: instanceOf(request), errors }) };
}

export function instanceOf(request: HttpRequest): string {
  try {
    return new URL(request.url).pathname;
  } catch {
    return '/';
  }
}

/** Reads a JSON object body: media type, size and syntax are each answered with their own problem. */
export async function readJsonBody(request: HttpRequest): Promise<Checked<unknown>> {
  const type = request.headers.get('content-type');
  if (type !== null && !/^application\/([a-z0-9.+-]*\+)?json\s*(;.*)?$/i.test(type.trim())) {
    return {
      ok: false,
      response: problem(ProblemType.UnsupportedMediaType, 415, `Content-Type ${type.slice(0, 100)} is not JSON; send application/json`, {
        instance: instanceOf(request),
        errors: [{ field: 'content-type', in: 'header', detail: 'must be application/json' }],
      }),
    };
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) return tooLarge(request);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) return tooLarge(request);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.trim() === '') return invalid(request, 'The request needs a JSON body', [{ field: '(body)', in: 'body', detail: 'is empty', pointer: '#' }]);
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const detail = error instanceof SyntaxError ? error.message.slice(0, 200) : 'is not JSON';
    return invalid(request, 'The request body is not valid JSON', [{ field: '(body)', in: 'body', detail, pointer: '#' }]);
  }
}

function tooLarge(request: HttpRequest): Checked<never> {
  return {
    ok: false,
    response: problem(ProblemType.PayloadTooLarge, 413, `The body may be at most ${MAX_BODY_BYTES} bytes`, { instance: instanceOf(request) }),
  };
}

export function checkBody<S extends z.ZodType>(request: HttpRequest, schema: S, body: unknown): Checked<z.output<S>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return invalid(request, 'The request body must be a JSON object', [{ field: '(body)', in: 'body', detail: 'must be a JSON object', pointer: '#' }]);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(request, 'Some fields of the request body are not valid', fieldsFromZod(parsed.error, 'body'));
}

export function checkQuery<S extends z.ZodType>(request: HttpRequest, schema: S): Checked<z.output<S>> {
  const query: Record<string, string> = {};
  for (const [key, value] of request.query) query[key] = value;
  const parsed = schema.safeParse(query);
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(request, 'Some query parameters are not valid', fieldsFromZod(parsed.error, 'query'));
}

export function checkParam<S extends z.ZodType>(request: HttpRequest, name: string, schema: S): Checked<z.output<S>> {
  const parsed = schema.safeParse(request.params[name] ?? '');
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(
    request,
    `The path parameter ${name} is not valid`,
    parsed.error.issues.map((issue) => ({ field: name, in: 'path' as const, detail: issue.message })),
  );
}

/**
 * The vault a request means: the one named (if Rotor may rotate in it), or
 * the only one configured. With several configured, naming it is required.
 */
export function resolveVault(
  request: HttpRequest,
  vault: string | undefined,
  allowedVaults: readonly string[],
  location: 'body' | 'query',
): Checked<string> {
  const pointer = location === 'body' ? { pointer: '#/vault' } : {};
  if (vault === undefined) {
    const [only] = allowedVaults;
    if (allowedVaults.length === 1 && only !== undefined) return { ok: true, value: only };
    return invalid(request, 'Rotor manages several vaults: name one', [
      { field: 'vault', in: location, detail: `is required: one of ${allowedVaults.join(', ')}`, ...pointer },
    ]);
  }
  if (allowedVaults.includes(vault)) return { ok: true, value: vault };
  return {
    ok: false,
    response: problem(ProblemType.VaultNotAllowed, 422, `${vault} is not in ROTOR_ALLOWED_VAULTS`, {
      instance: instanceOf(request),
      errors: [{ field: 'vault', in: location, detail: `must be one of ${allowedVaults.join(', ')}`, ...pointer }],
    }),
  };
}
