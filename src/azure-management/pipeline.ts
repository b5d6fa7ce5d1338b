import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  retryPolicy,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { readRestError, retryAfterMs } from '../azure/rest-error.js';
import { codeForStatus, ManagementApiError, ManagementErrorCode } from './errors.js';

/**
 * The HTTP pipeline every Rotor call to ARM, Graph and the token endpoint goes
 * through: the Azure SDK's own pipeline (`@azure/core-rest-pipeline`, what the
 * management SDKs are built on) with bearer auth, TLS options and a bounded
 * retry. Only the base URL differs between Azure and the local stand-in.
 */
export interface ManagementTransportOptions {
  /** Extra trust for a local stand-in's self-signed certificate; unset in Azure. */
  readonly tls?: { readonly ca: string };
  /** Retries inside one call (429/503 with a short Retry-After, 5xx, resets). Default 3. */
  readonly maxRetries?: number;
  /** A Retry-After longer than this is not waited for in-process: the error goes to the engine, which schedules. Default 10 s. */
  readonly maxRetryAfterMs?: number;
  /** Base of the exponential backoff for 5xx and resets. Default 500 ms. */
  readonly retryDelayMs?: number;
  /** Per-request timeout. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface JsonRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  /** `application/x-www-form-urlencoded` body (OAuth token requests). */
  readonly form?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: PipelineResponse['headers'];
  /** Parsed JSON body; `undefined` when the body is empty or not JSON. */
  readonly json: unknown;
}

export interface JsonTransport {
  send(request: JsonRequest): Promise<JsonResponse>;
}

const idempotentMethods = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * Retries what the service asked us to retry soon, and transport failures of
 * idempotent requests. A POST that lost its response (reset, timeout) is NOT
 * re-sent: `addPassword` or `regenerateKey` may have happened, and the caller's
 * idempotence (find what this rotation created) is the right place to recover.
 */
function boundedRetryStrategy(maxRetryAfterMs: number, baseDelayMs: number): RetryStrategy {
  const backoff = (retryCount: number): number => {
    const exponential = baseDelayMs * 2 ** retryCount;
    return Math.min(exponential / 2 + Math.random() * (exponential / 2), maxRetryAfterMs);
  };
  return {
    name: 'rotorBoundedRetry',
    retry({ retryCount, response, responseError }) {
      if (responseError !== undefined) {
        const method = responseError.request?.method ?? 'POST';
        const transport = responseError.statusCode === undefined && responseError.name !== 'AbortError';
        return transport && idempotentMethods.has(method) ? { retryAfterInMs: backoff(retryCount) } : { skipStrategy: true };
      }
      if (response === undefined) return { skipStrategy: true };
      if (response.status === 429 || response.status === 503) {
        const after = retryAfterMs(response.headers);
        if (after !== undefined) return after <= maxRetryAfterMs ? { retryAfterInMs: after } : { skipStrategy: true };
        return { retryAfterInMs: backoff(retryCount) };
      }
      if (response.status >= 500 && response.status !== 501 && response.status !== 505 && idempotentMethods.has(response.request.method)) {
        return { retryAfterInMs: backoff(retryCount) };
      }
      return { skipStrategy: true };
    },
  };
}

function buildPipeline(options: ManagementTransportOptions, auth?: { credential: TokenCredential; scope: string }): Pipeline {
  const pipeline = createPipelineFromOptions({
    userAgentOptions: { userAgentPrefix: 'rotor' },
    ...(options.tls === undefined ? {} : { tlsOptions: { ca: options.tls.ca } }),
  });
  pipeline.removePolicy({ phase: 'Retry' });
  pipeline.addPolicy(
    retryPolicy([boundedRetryStrategy(options.maxRetryAfterMs ?? 10_000, options.retryDelayMs ?? 500)], {
      maxRetries: options.maxRetries ?? 3,
    }),
    { phase: 'Retry' },
  );
  if (auth !== undefined) {
    // Sign phase runs after Retry, so every retry carries a fresh token.
    pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: auth.credential, scopes: auth.scope }), { phase: 'Sign' });
  }
  return pipeline;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A JSON-over-HTTPS transport. With `auth`, requests carry a bearer token for
 * `auth.scope` from the injected credential (`DefaultAzureCredential` in Azure).
 */
export function createJsonTransport(
  options: ManagementTransportOptions,
  auth?: { readonly credential: TokenCredential; readonly scope: string },
  httpClient: HttpClient = createDefaultHttpClient(),
): JsonTransport {
  const pipeline = buildPipeline(options, auth);
  return {
    async send(request) {
      const headers = createHttpHeaders({ accept: 'application/json' });
      let body: string | undefined;
      if (request.form !== undefined) {
        headers.set('content-type', 'application/x-www-form-urlencoded');
        body = new URLSearchParams(request.form).toString();
      } else if (request.body !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(request.body);
      }
      const pipelineRequest = createPipelineRequest({
        url: request.url,
        method: request.method,
        headers,
        body,
        timeout: options.timeoutMs ?? 30_000,
        ...(request.signal === undefined ? {} : { abortSignal: request.signal }),
      });
      let response: PipelineResponse;
      try {
        response = await pipeline.sendRequest(httpClient, pipelineRequest);
      } catch (error) {
        const failure = readRestError(error);
        if (failure?.status !== undefined) {
          throw new ManagementApiError(codeForStatus(failure.status), `${request.method} ${redactUrl(request.url)} failed with ${failure.status}`, {
            status: failure.status,
            cause: error,
          });
        }
        const reason = error instanceof Error ? `${error.name}${'code' in error ? ` ${String(error.code)}` : ''}` : 'unknown error';
        throw new ManagementApiError(ManagementErrorCode.Network, `${request.method} ${redactUrl(request.url)} got no answer (${reason})`, { cause: error });
      }
      return { status: response.status, headers: response.headers, json: parseJson(response.bodyAsText ?? undefined) };
    },
  };
}

/** The path of a URL without its query: query strings may hold SAS signatures. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** ARM and Graph error bodies: `{ error: { code, message } }`. */
export function serviceError(json: unknown): { code?: string; message?: string } {
  if (typeof json !== 'object' || json === null || !('error' in json)) return {};
  const error = json.error;
  if (typeof error !== 'object' || error === null) return {};
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : undefined;
  return { ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) };
}

/** Throws the translated error for a non-2xx response. */
export function failForStatus(what: string, response: JsonResponse): never {
  const { code, message } = serviceError(response.json);
  const after = retryAfterMs(response.headers);
  throw new ManagementApiError(
    codeForStatus(response.status),
    `${what} failed with ${response.status}${code === undefined ? '' : ` ${code}`}${message === undefined ? '' : `: ${message}`}`,
    { status: response.status, ...(code === undefined ? {} : { serviceCode: code }), ...(after === undefined ? {} : { retryAfterMs: after }) },
  );
}
