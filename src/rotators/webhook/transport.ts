import { randomUUID } from 'node:crypto';
import { requestWithLimit } from '../../http/limited-request.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import type { RotatorLog } from '../../rotation/rotator.js';
import type { WebhookRequest } from './protocol.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface TransportOptions {
  readonly timeoutMs: number;
  /** Tries per call, the first included: 5xx, 408, 429 and network errors are tried again. */
  readonly maxAttempts: number;
  /** First backoff; doubles, with jitter. */
  readonly retryDelayMs: number;
  /** Extra trusted CA certificates (PEM): a private CA, or a test server. */
  readonly ca?: string;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface WebhookResponse {
  readonly status: number;
  /** The raw body. It may carry a credential: parse it, never log or quote it. */
  readonly body: string;
  readonly contentType?: string;
  readonly retryAfter?: string;
}

/** A Retry-After this long or shorter is waited out within the step; a longer one goes back to the engine. */
const MAX_IN_STEP_RETRY_AFTER_MS = 5_000;

/** `Retry-After` as seconds or an HTTP date, in milliseconds from `nowMs`; `undefined` when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // IMF-fixdate only (`Sun, 06 Nov 1994 08:49:37 GMT`): Date.parse reads "-5" as a year.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** A response larger than this is refused: Key Vault values stop at 25 KiB. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const RESPONSE_TOO_LARGE = 'ROTOR_RESPONSE_TOO_LARGE';
const TLS_CONFIGURATION_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

class AttemptFailure extends Error {
  constructor(
    readonly retryable: boolean,
    readonly failure: RotatorError,
    /** The endpoint's Retry-After, when it gave one. */
    readonly retryAfterMs?: number,
  ) {
    super(failure.message);
  }
}

async function send(url: URL, body: string, headers: Record<string, string>, options: TransportOptions, signal: AbortSignal): Promise<WebhookResponse> {
  const answer = await requestWithLimit(url, {
    method: 'POST',
    headers,
    body,
    signal,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    maxBytes: MAX_RESPONSE_BYTES,
    tooLargeCode: RESPONSE_TOO_LARGE,
  });
  const contentType = answer.headers['content-type'];
  const retryAfter = answer.headers['retry-after'];
  return {
    status: answer.status,
    body: answer.body,
    ...(contentType === undefined ? {} : { contentType }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  };
}

function classifyStatus(step: string, response: WebhookResponse, nowMs: number): AttemptFailure | undefined {
  const { status } = response;
  if (status >= 200 && status < 300) return undefined;
  // Only the status is reported: a receiver's error body might echo the credential it was sent.
  const text = `The webhook answered ${step} with HTTP ${status}`;
  const retryAfterMs = parseRetryAfter(response.retryAfter, nowMs);
  const retryable = (code: RotatorErrorCode) =>
    new AttemptFailure(true, new RotatorError(code, text, retryAfterMs === undefined ? {} : { retryAfterMs }), retryAfterMs);
  if (status >= 500) return retryable(RotatorErrorCode.ProviderUnavailable);
  if (status === 429) return retryable(RotatorErrorCode.ProviderThrottled);
  if (status === 408 || status === 425) return retryable(RotatorErrorCode.ProviderUnavailable);
  if (status === 401 || status === 403) {
    return new AttemptFailure(false, new RotatorError(RotatorErrorCode.PermissionDenied, `${text}: the receiver refused the request (check the signing key and clock)`));
  }
  if (status === 404 || status === 410) return new AttemptFailure(false, new RotatorError(RotatorErrorCode.TargetNotFound, text));
  if (status >= 300 && status < 400) return new AttemptFailure(false, new RotatorError(RotatorErrorCode.InvalidConfiguration, `${text}: redirects are not followed`));
  return new AttemptFailure(false, new RotatorError(RotatorErrorCode.ProviderRejected, text));
}

function classifyError(step: string, error: unknown, callerAborted: boolean, timeoutMs: number): AttemptFailure {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (callerAborted) {
    return new AttemptFailure(false, new RotatorError(RotatorErrorCode.ProviderUnavailable, `The webhook call for ${step} was cancelled`));
  }
  if (code === RESPONSE_TOO_LARGE) {
    return new AttemptFailure(false, new RotatorError(RotatorErrorCode.ProviderRejected, `The webhook's answer to ${step} exceeded ${MAX_RESPONSE_BYTES} bytes`));
  }
  if (code !== undefined && TLS_CONFIGURATION_CODES.has(code)) {
    return new AttemptFailure(false, new RotatorError(RotatorErrorCode.InvalidConfiguration, `The webhook's TLS certificate was not accepted (${code})`));
  }
  if (code === 'ABORT_ERR' || (error instanceof Error && error.name === 'AbortError')) {
    return new AttemptFailure(true, new RotatorError(RotatorErrorCode.ProviderUnavailable, `The webhook did not answer ${step} within ${timeoutMs} ms`));
  }
  return new AttemptFailure(true, new RotatorError(RotatorErrorCode.ProviderUnavailable, `The webhook call for ${step} failed (${code ?? 'network error'})`));
}

/**
 * Posts one signed request, trying again on 5xx, 408, 429 and network errors
 * with exponential backoff and jitter; each try gets a fresh `deliveryId`,
 * timestamp and signature. What is still failing after `maxAttempts` is a
 * transient `RotatorError`, so the engine schedules the step again later; a
 * 4xx is permanent at once.
 */
export async function postSigned(
  url: URL,
  message: Omit<WebhookRequest, 'deliveryId'>,
  key: SecretValue,
  options: TransportOptions,
  log: RotatorLog,
  signal?: AbortSignal,
): Promise<WebhookResponse> {
  let last: RotatorError | undefined;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt += 1) {
    const deliveryId = randomUUID();
    const body = JSON.stringify({ ...message, deliveryId } satisfies WebhookRequest);
    const timestamp = Math.floor(options.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'rotor-webhook/1',
      'idempotency-key': `${message.rotationId}:${message.step}`,
      [SIGNATURE_HEADER]: signatureHeader(key, timestamp, body),
    };
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let failure: AttemptFailure | undefined;
    try {
      const response = await send(url, body, headers, options, combined);
      failure = classifyStatus(message.step, response, options.now());
      if (failure === undefined) return response;
    } catch (error) {
      failure = classifyError(message.step, error, signal?.aborted === true, options.timeoutMs);
    }
    last = failure.failure;
    log.warn('Webhook call failed', {
      step: message.step,
      deliveryId,
      attempt,
      code: failure.failure.code,
      error: failure.failure.message,
      willRetry: failure.retryable && attempt < options.maxAttempts,
    });
    if (!failure.retryable) throw failure.failure;
    // A long Retry-After is the engine's to wait out, as a scheduled message: a step never sleeps for long.
    if (failure.retryAfterMs !== undefined && failure.retryAfterMs > MAX_IN_STEP_RETRY_AFTER_MS) throw failure.failure;
    if (attempt < options.maxAttempts) {
      const backoff = options.retryDelayMs * 2 ** (attempt - 1);
      await options.sleep(failure.retryAfterMs ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }
  throw last ?? new RotatorError(RotatorErrorCode.ProviderUnavailable, `The webhook call for ${message.step} was not attempted`);
}
