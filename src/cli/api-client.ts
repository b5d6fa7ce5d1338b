import type { z } from 'zod';
import { batchSchema, cancelSchema, type BatchView, type CancelView } from './batch.js';
import { ApiProblemError, ApiUnreachableError, BadResponseError } from './errors.js';
import { expiringSchema, type ExpiringView } from './expiring.js';
import {
  dryRunSchema,
  historyPageSchema,
  problemSchema,
  rotationSchema,
  secretsSchema,
  startedSchema,
  type DryRunView,
  type HistoryPage,
  type RotationView,
  type SecretsView,
  type StartedView,
} from './wire.js';
import { consumersSchema, type ConsumersView } from './consumers.js';

/** A parsed answer and the JSON exactly as the API sent it (what `--json` prints). */
export interface Answer<T> {
  readonly value: T;
  readonly raw: unknown;
}

export type StartAnswer = ({ readonly kind: 'started' } & Answer<StartedView>) | ({ readonly kind: 'dry-run' } & Answer<DryRunView>);

export interface RotorApi {
  startRotation(body: { secret: string; vault?: string; dryRun?: boolean; reason?: string; force?: boolean }): Promise<StartAnswer>;
  getRotation(id: string): Promise<Answer<RotationView>>;
  /** One page of a secret's history; `nextLink` (from a previous page) wins over the other inputs. */
  listRotations(input: { secret: string; vault?: string; limit?: number; nextLink?: string }): Promise<Answer<HistoryPage>>;
  listSecrets(input: { vault?: string }): Promise<Answer<SecretsView>>;
  startBatch(body: { vault?: string; selector: 'all' | { tags: Readonly<Record<string, string>> }; reason: string; dryRun?: boolean; force?: boolean }): Promise<Answer<BatchView>>;
  getBatch(id: string): Promise<Answer<BatchView>>;
  cancelRotation(id: string, body: { reason?: string }): Promise<Answer<CancelView>>;
  listExpiring(input: { within?: string }): Promise<Answer<ExpiringView>>;
  /** A secret's consumers (tag and registry) with the registry's ETag, for a conditional PUT or DELETE. */
  getConsumers(input: { secret: string; vault?: string }): Promise<Answer<ConsumersView> & { readonly etag?: string }>;
  putConsumers(input: { secret: string; vault?: string; consumers: readonly string[]; ifMatch?: string }): Promise<Answer<ConsumersView>>;
  deleteConsumers(input: { secret: string; vault?: string; ifMatch?: string }): Promise<void>;
}

export interface ApiClientOptions {
  /** Base URL ending at the API root, e.g. `http://127.0.0.1:7071/api`. */
  readonly baseUrl: URL;
  /** Function key, sent as `x-functions-key` (a header, so it stays out of URLs and logs). */
  readonly key?: string;
  readonly fetch: typeof globalThis.fetch;
  /** How long one request may take before the CLI gives up on it. */
  readonly requestTimeoutMs?: number;
}

/** Every API call answers in well under this; a hung proxy should not hang a pipeline. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The base URL as it may be shown: no user info, no query (a `?code=` key could sit there). */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export function createApiClient(options: ApiClientOptions): RotorApi {
  // Relative paths resolve under the API root only if it ends in `/`; the query (maybe `?code=`) is dropped.
  const base = new URL(options.baseUrl.href);
  base.search = '';
  base.hash = '';
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  const shown = displayUrl(options.baseUrl);

  const urlFor = (path: string, query: Record<string, string | undefined> = {}): URL => {
    const url = new URL(path, base);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    return url;
  };

  async function call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: URL,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown; etag?: string }> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...extraHeaders };
    if (options.key !== undefined) headers['x-functions-key'] = options.key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await options.fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiUnreachableError(shown, reasonOf(error), { cause: error });
    }
    const text = await response.text();
    const json = parseJson(text);
    if (response.ok) {
      if (response.status === 204) return { status: 204, json: undefined };
      const etag = response.headers.get('etag') ?? undefined;
      if (json === undefined) throw new BadResponseError(`${method} ${url.pathname} answered ${response.status} with a body that is not JSON`);
      return { status: response.status, json, ...(etag === undefined ? {} : { etag }) };
    }
    throw problemFrom(response, json);
  }

  const parse = <S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> => {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first === undefined ? '' : ` (${first.path.map(String).join('.') || 'body'}: ${first.message})`;
      throw new BadResponseError(`The API answered ${what} in an unexpected shape${where}: is ${shown} a Rotor API?`);
    }
    return parsed.data;
  };

  return {
    async startRotation(body) {
      const { status, json } = await call('POST', urlFor('rotations'), body);
      if (status === 200 && typeof json === 'object' && json !== null && 'dryRun' in json) {
        return { kind: 'dry-run', value: parse(dryRunSchema, json, 'the dry run'), raw: json };
      }
      return { kind: 'started', value: parse(startedSchema, json, 'the rotation request'), raw: json };
    },
    async getRotation(id) {
      const { json } = await call('GET', urlFor(`rotations/${encodeURIComponent(id)}`));
      return { value: parse(rotationSchema, json, 'the rotation'), raw: json };
    },
    async listRotations(input) {
      const url =
        input.nextLink === undefined
          ? urlFor(`secrets/${encodeURIComponent(input.secret)}/rotations`, {
              vault: input.vault,
              limit: input.limit === undefined ? undefined : String(input.limit),
            })
          : sameOrigin(input.nextLink, base);
      const { json } = await call('GET', url);
      return { value: parse(historyPageSchema, json, 'the history'), raw: json };
    },
    async listSecrets(input) {
      // The API answers a page at a time; the CLI shows them all, one page after another.
      let { json } = await call('GET', urlFor('secrets', { vault: input.vault }));
      const first = parse(secretsSchema, json, 'the secret list');
      const items = [...first.items];
      for (let next = nextLinkOf(json); next !== undefined; next = nextLinkOf(json)) {
        ({ json } = await call('GET', sameOrigin(next, base)));
        items.push(...parse(secretsSchema, json, 'the secret list').items);
      }
      const value = { ...first, items };
      delete (value as { nextLink?: unknown }).nextLink;
      return { value, raw: value };
    },
    async startBatch(body) {
      const { json } = await call('POST', urlFor('./rotations:batch') /* './': a first segment with a colon would read as a URL scheme */, body);
      return { value: parse(batchSchema, json, 'the batch'), raw: json };
    },
    async getBatch(id) {
      const { json } = await call('GET', urlFor(`batches/${encodeURIComponent(id)}`));
      return { value: parse(batchSchema, json, 'the batch'), raw: json };
    },
    async cancelRotation(id, body) {
      const { json } = await call('POST', urlFor(`rotations/${encodeURIComponent(id)}/cancel`), body);
      return { value: parse(cancelSchema, json, 'the cancel'), raw: json };
    },
    async listExpiring(input) {
      const { json } = await call('GET', urlFor('expiring', { within: input.within }));
      return { value: parse(expiringSchema, json, 'the expiry radar'), raw: json };
    },
    async getConsumers(input) {
      const { json, etag } = await call('GET', urlFor(`secrets/${encodeURIComponent(input.secret)}/consumers`, { vault: input.vault }));
      return { value: parse(consumersSchema, json, 'the consumer list'), raw: json, ...(etag === undefined ? {} : { etag }) };
    },
    async putConsumers(input) {
      const url = urlFor(`secrets/${encodeURIComponent(input.secret)}/consumers`, { vault: input.vault });
      const { json } = await call('PUT', url, { consumers: input.consumers }, input.ifMatch === undefined ? {} : { 'if-match': input.ifMatch });
      return { value: parse(consumersSchema, json, 'the consumer list'), raw: json };
    },
    async deleteConsumers(input) {
      const url = urlFor(`secrets/${encodeURIComponent(input.secret)}/consumers`, { vault: input.vault });
      await call('DELETE', url, undefined, input.ifMatch === undefined ? {} : { 'if-match': input.ifMatch });
    },
  };
}

function nextLinkOf(json: unknown): string | undefined {
  const link = (json as { nextLink?: unknown } | null)?.nextLink;
  return typeof link === 'string' && link !== '' ? link : undefined;
}

/**
 * A `nextLink` is built from the host name the API saw, which behind a proxy
 * may not be the one the operator called. Its path and query are replayed on
 * the configured origin, so the key is never sent to a host the operator did
 * not name.
 */
function sameOrigin(nextLink: string, base: URL): URL {
  let link: URL;
  try {
    link = new URL(nextLink, base);
  } catch {
    throw new BadResponseError('The API answered a nextLink that is not a URL');
  }
  return new URL(`${link.pathname}${link.search}`, base.origin);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function problemFrom(response: Response, json: unknown): ApiProblemError {
  const parsed = problemSchema.safeParse(json);
  if (!parsed.success) {
    // Not problem+json (a proxy, a runtime page): status line only, never the body.
    const text = response.statusText === '' ? '' : ` ${response.statusText}`;
    return new ApiProblemError({ status: response.status, title: `HTTP ${response.status}${text}`, body: json });
  }
  const p = parsed.data;
  return new ApiProblemError({
    status: response.status,
    title: p.title,
    ...(p.detail === undefined ? {} : { detail: p.detail }),
    fields: (p.errors ?? []).map((e) => ({ field: e.field, in: e.in, detail: e.detail })),
    body: json,
    ...(p.activeRotationId === undefined ? {} : { activeRotationId: p.activeRotationId }),
  });
}

/** `fetch` wraps the socket error in `cause`; its code is what an operator can act on. */
function reasonOf(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case undefined:
      return error instanceof Error ? error.message : 'network error';
    default:
      return code;
  }
}
