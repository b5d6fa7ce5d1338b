import type { TokenCredential } from '@azure/identity';
import { ManagementApiError, ManagementErrorCode } from './errors.js';
import { retryAfterMs } from '../azure/rest-error.js';
import { createJsonTransport, failForStatus, type JsonResponse, type JsonTransport, type ManagementTransportOptions } from './pipeline.js';

export const defaultArmEndpoint = 'https://management.azure.com';

export interface ArmClientOptions extends ManagementTransportOptions {
  readonly credential: TokenCredential;
  /** `https://management.azure.com` in the public cloud; the stand-in's URL locally. */
  readonly endpoint?: string;
  /** Token scope; default `{endpoint}/.default` (what the management SDKs ask for). */
  readonly scope?: string;
  /** Longest a long-running operation is polled before giving up (transient). Default 60 s. */
  readonly maxOperationMs?: number;
  /** Poll interval when the service sends no Retry-After. Default 1 s. */
  readonly pollIntervalMs?: number;
  /** Injectable wait, so tests do not sleep. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resource Manager as Rotor uses it: POST actions on a resource, following long-running operations. */
export interface ArmClient {
  /**
   * `POST {endpoint}{resourceId}/{action}?api-version=...`. A 200/201 answer
   * is returned as is; a 202 is followed (Azure-AsyncOperation, then Location)
   * until the operation ends, and its final body (if any) returned.
   */
  postAction(resourceId: string, action: string, apiVersion: string, body?: unknown, signal?: AbortSignal): Promise<unknown>;
  /** `GET {endpoint}{path}?api-version=...`: a resource or a list under one; the parsed body of a 200. */
  getResource(path: string, apiVersion: string, signal?: AbortSignal): Promise<unknown>;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    }, { once: true });
  });

export function createArmClient(options: ArmClientOptions): ArmClient {
  const endpoint = (options.endpoint ?? defaultArmEndpoint).replace(/\/+$/, '');
  const transport = createJsonTransport(options, { credential: options.credential, scope: options.scope ?? `${endpoint}/.default` });
  const sleep = options.sleep ?? defaultSleep;
  const maxOperationMs = options.maxOperationMs ?? 60_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;

  return {
    async postAction(resourceId, action, apiVersion, body, signal) {
      const what = `POST ${resourceId}/${action}`;
      const url = `${endpoint}${resourceId}/${action}?api-version=${encodeURIComponent(apiVersion)}`;
      const first = await transport.send({ method: 'POST', url, ...(body === undefined ? {} : { body }), ...(signal === undefined ? {} : { signal }) });
      if (first.status === 200 || first.status === 201) return first.json;
      if (first.status === 204) return undefined;
      if (first.status !== 202) failForStatus(what, first);
      return followOperation(transport, first, { what, sleep, maxOperationMs, pollIntervalMs, ...(signal === undefined ? {} : { signal }) });
    },
    async getResource(path, apiVersion, signal) {
      const url = `${endpoint}${path}?api-version=${encodeURIComponent(apiVersion)}`;
      const response = await transport.send({ method: 'GET', url, ...(signal === undefined ? {} : { signal }) });
      if (response.status !== 200) failForStatus(`GET ${path}`, response);
      return response.json;
    },
  };
}

interface PollContext {
  readonly what: string;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly maxOperationMs: number;
  readonly pollIntervalMs: number;
  readonly signal?: AbortSignal;
}

/**
 * ARM's asynchronous operation protocol for POST actions (final state via
 * Location): poll `Azure-AsyncOperation` for `status` when given, then GET
 * `Location` for the result; with only `Location`, poll it until it stops
 * answering 202.
 */
async function followOperation(transport: JsonTransport, accepted: JsonResponse, context: PollContext): Promise<unknown> {
  const asyncOperation = accepted.headers.get('azure-asyncoperation');
  let location = accepted.headers.get('location');
  if (asyncOperation === undefined && location === undefined) {
    throw new ManagementApiError(ManagementErrorCode.UnexpectedResponse, `${context.what} answered 202 without Location or Azure-AsyncOperation`);
  }
  const started = Date.now();
  let wait = retryAfterMs(accepted.headers) ?? context.pollIntervalMs;
  const poll = async (url: string): Promise<JsonResponse> => {
    if (Date.now() - started + wait > context.maxOperationMs) {
      throw new ManagementApiError(ManagementErrorCode.ServiceError, `${context.what} did not finish within ${context.maxOperationMs} ms`);
    }
    await context.sleep(wait, context.signal);
    const response = await transport.send({ method: 'GET', url, ...(context.signal === undefined ? {} : { signal: context.signal }) });
    wait = retryAfterMs(response.headers) ?? context.pollIntervalMs;
    return response;
  };

  if (asyncOperation !== undefined) {
    for (;;) {
      const response = await poll(asyncOperation);
      if (response.status === 202) continue;
      if (response.status !== 200) failForStatus(`${context.what} (operation status)`, response);
      const status = typeof response.json === 'object' && response.json !== null && 'status' in response.json ? String(response.json.status) : undefined;
      if (status === 'Succeeded') break;
      if (status === 'Failed' || status === 'Canceled') {
        throw new ManagementApiError(ManagementErrorCode.ServiceError, `${context.what} ended ${status}`);
      }
      location = response.headers.get('location') ?? location;
    }
    if (location === undefined) return undefined;
    wait = 0;
  }

  for (;;) {
    const response = await poll(location as string);
    if (response.status === 202) continue;
    if (response.status === 200 || response.status === 201) return response.json;
    if (response.status === 204) return undefined;
    failForStatus(`${context.what} (operation result)`, response);
  }
}
