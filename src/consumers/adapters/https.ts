import { z } from 'zod';
import { requestWithLimit } from '../../http/limited-request.js';
import { SIGNATURE_HEADER, signatureHeader } from '../../rotators/webhook/signature.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import type { AdoptionReport, ConsumerAdapter, NudgeContext } from '../adapter.js';
import { displayConsumer, type ConsumerEntry } from '../entries.js';
import { ConsumerError, ConsumerErrorCode, consumerCodeForStatus } from '../errors.js';

/**
 * Any application, through Rotor's consumer protocol (docs/operations.md,
 * "Consumers"):
 *
 * - nudge: `POST <url>` a CloudEvent 1.0 (structured JSON) of type
 *   `Rotor.Secret.VersionPromoted` whose data names the vault, the secret and
 *   the version to use — never a value — signed as webhook calls are
 *   (`X-Rotor-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`).
 *   The event id is stable per rotation, purpose and version, so a repeated
 *   nudge is recognisably the same one. Any 2xx is accepted.
 * - adoption: `GET <url>` answers `{"secret": "<name>", "version": "<version id>"}`
 *   (a full secret id URL is read as its last segment). Adopted when the
 *   version is the one asked for.
 */
export const VERSION_PROMOTED_EVENT = 'Rotor.Secret.VersionPromoted';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface HttpsConsumerOptions {
  /** `ROTOR_CONSUMER_SIGNING_KEY`; without it nudges are not sent (NotConfigured). */
  readonly signingKey?: SecretValue;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Extra trusted CA (PEM): a private CA, or a test server. */
  readonly ca?: string;
  readonly now?: () => number;
}

/** Answers are a line of JSON; anything larger is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;
const ANSWER_TOO_LARGE = 'ROTOR_ANSWER_TOO_LARGE';

const adoptionSchema = z.object({
  secret: z.string().min(1).max(256),
  version: z.string().min(1).max(2048),
});

type HttpsEntry = Extract<ConsumerEntry, { kind: 'https' }>;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly retryAfter?: string;
}

async function send(url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined, options: { timeoutMs: number; ca?: string }): Promise<Answer> {
  const answer = await requestWithLimit(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    maxBytes: MAX_ANSWER_BYTES,
    tooLargeCode: ANSWER_TOO_LARGE,
  });
  const retryAfter = answer.headers['retry-after'];
  return { status: answer.status, body: answer.body, ...(retryAfter === undefined ? {} : { retryAfter }) };
}

function failureOf(consumer: string, what: string, error: unknown, timeoutMs: number): ConsumerError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (code === ANSWER_TOO_LARGE) return new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: the answer to ${what} exceeded ${MAX_ANSWER_BYTES} bytes`);
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new ConsumerError(ConsumerErrorCode.NotConfigured, `${consumer}: its TLS certificate was not accepted (${code})`);
  }
  if (code === 'ABORT_ERR' || code === 'ETIMEDOUT' || (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))) {
    return new ConsumerError(ConsumerErrorCode.Unavailable, `${consumer}: no answer to ${what} within ${timeoutMs} ms`);
  }
  return new ConsumerError(ConsumerErrorCode.Unavailable, `${consumer}: ${what} failed (${code ?? 'network error'})`);
}

function statusFailure(consumer: string, what: string, answer: Answer): ConsumerError {
  const retryAfterMs = answer.retryAfter !== undefined && /^\d+$/.test(answer.retryAfter.trim()) ? Number(answer.retryAfter.trim()) * 1000 : undefined;
  // Only the status: a body is the consumer's text, and Rotor quotes nothing a consumer says.
  return new ConsumerError(consumerCodeForStatus(answer.status), `${consumer}: ${what} answered HTTP ${answer.status}`, retryAfterMs === undefined ? {} : { retryAfterMs });
}

/** The CloudEvent for a nudge; `id` is stable for one rotation, purpose and version. */
export function versionPromotedEvent(context: NudgeContext, time: Date): Record<string, unknown> {
  return {
    specversion: '1.0',
    type: VERSION_PROMOTED_EVENT,
    source: `/rotor/rotations/${encodeURIComponent(context.rotationId)}`,
    id: `${context.rotationId}:${context.purpose}:${context.version}`,
    subject: context.secret.name,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data: { vaultUrl: context.secret.vaultUrl, secret: context.secret.name, version: context.version, purpose: context.purpose, rotationId: context.rotationId },
  };
}

/** `3f2a…` from `3f2a…` or from `https://kv/secrets/name/3f2a…`. */
function versionOf(text: string): string {
  const trimmed = text.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(trimmed) ? (trimmed.split('/').pop() ?? trimmed) : trimmed;
}

export function createHttpsConsumer(options: HttpsConsumerOptions = {}): ConsumerAdapter<HttpsEntry> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const transport = { timeoutMs, ...(options.ca === undefined ? {} : { ca: options.ca }) };
  return {
    async nudge(entry, context) {
      const consumer = displayConsumer(entry);
      if (options.signingKey === undefined) {
        throw new ConsumerError(ConsumerErrorCode.NotConfigured, `${consumer}: ROTOR_CONSUMER_SIGNING_KEY is not set, and Rotor sends no unsigned nudge`);
      }
      const body = JSON.stringify(versionPromotedEvent(context, new Date(now())));
      const headers = {
        'content-type': CLOUDEVENTS_CONTENT_TYPE,
        'user-agent': 'rotor-consumer/1',
        [SIGNATURE_HEADER]: signatureHeader(options.signingKey, Math.floor(now() / 1000), body),
      };
      let answer: Answer;
      try {
        answer = await send(new URL(entry.url), 'POST', headers, body, transport);
      } catch (error) {
        throw failureOf(consumer, 'the nudge', error, timeoutMs);
      }
      if (answer.status < 200 || answer.status >= 300) throw statusFailure(consumer, 'the nudge', answer);
      return { detail: `CloudEvent accepted (${answer.status})` };
    },

    async readAdoption(entry, context): Promise<AdoptionReport> {
      const consumer = displayConsumer(entry);
      let answer: Answer;
      try {
        answer = await send(new URL(entry.url), 'GET', { accept: 'application/json', 'user-agent': 'rotor-consumer/1' }, undefined, transport);
      } catch (error) {
        throw failureOf(consumer, 'the adoption query', error, timeoutMs);
      }
      if (answer.status !== 200) throw statusFailure(consumer, 'the adoption query', answer);
      let json: unknown;
      try {
        json = JSON.parse(answer.body);
      } catch {
        throw new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: answered the adoption query with something other than JSON`);
      }
      const parsed = adoptionSchema.safeParse(json);
      if (!parsed.success) {
        throw new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: answered the adoption query without {"secret": "<name>", "version": "<version id>"}`);
      }
      if (parsed.data.secret.toLowerCase() !== context.secret.name.toLowerCase()) {
        throw new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: reports on another secret than ${context.secret.name}`);
      }
      const version = versionOf(parsed.data.version);
      if (!/^[0-9A-Za-z-]{1,64}$/.test(version)) {
        throw new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: reports a version that is not a Key Vault version id`);
      }
      return version === context.version
        ? { state: 'adopted', version, detail: `uses version ${version}` }
        : { state: 'behind', version, detail: `still uses version ${version}` };
    },
  };
}
