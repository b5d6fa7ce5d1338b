import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import { SecretValue } from '../../secrecy/secret-value.js';
import { RotatorError, RotatorErrorCode } from '../../rotation/rotator-errors.js';
import type { CredentialTestResult, CurrentCredential, PreparedCredential, Rotator, RotatorContext } from '../../rotation/rotator.js';
import { readWebhookPolicy, type WebhookPolicy } from './policy.js';
import {
  prepareResponseSchema,
  testResponseSchema,
  WEBHOOK_PROTOCOL,
  WebhookStep,
  type WebhookRequest,
  type WireCredential,
} from './protocol.js';
import { postSigned, type TransportOptions, type WebhookResponse } from './transport.js';

export interface WebhookRotatorDeps {
  /** Extra trusted CA certificates (PEM) for the owners' endpoints. */
  readonly ca?: string;
  /** Accept `http://` endpoints. The local stack only: credentials would cross the network in clear text. */
  readonly allowHttp?: boolean;
  /** Per request, unless the policy's `rotor-webhook-timeout` says otherwise. Default 10 s. */
  readonly timeoutMs?: number;
  /** Tries per call, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** First backoff between tries. Default 500 ms. */
  readonly retryDelayMs?: number;
  /** Milliseconds since the epoch, for the signature timestamp. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Rotates a credential of any system with an HTTP API (`rotor-rotator=webhook`):
 * Rotor posts each protocol step, signed with HMAC-SHA256, to the owner's
 * endpoint, which does the work at its provider. The receiver decides what a
 * slot is; Rotor passes its answers back on later steps. Responses are
 * validated, and a response carrying a credential is never logged or quoted.
 */
export function createWebhookRotator(deps: WebhookRotatorDeps = {}): Rotator<WebhookPolicy> {
  const base: Omit<TransportOptions, 'timeoutMs'> = {
    maxAttempts: deps.maxAttempts ?? 3,
    retryDelayMs: deps.retryDelayMs ?? 500,
    now: deps.now ?? Date.now,
    sleep: (ms) => delay(ms),
    ...(deps.ca === undefined ? {} : { ca: deps.ca }),
  };
  const policyOptions = { allowHttp: deps.allowHttp === true };

  async function call(
    context: RotatorContext<WebhookPolicy>,
    step: WebhookStep,
    extra: { credential?: WireCredential; prepared?: WireCredential } = {},
  ): Promise<WebhookResponse> {
    const policy = context.config;
    const key = await context.readSecret(policy.signingSecretName);
    const message: Omit<WebhookRequest, 'deliveryId'> = {
      protocol: WEBHOOK_PROTOCOL,
      rotationId: context.rotationId,
      step,
      attempt: context.attempt,
      secret: context.secret,
      strategy: context.policy.strategy,
      ...(context.policy.target === undefined ? {} : { target: context.policy.target }),
      current: { version: context.current.version, ...(context.current.slot === undefined ? {} : { slot: context.current.slot }) },
      ...extra,
    };
    const options: TransportOptions = { ...base, timeoutMs: policy.timeoutMs ?? deps.timeoutMs ?? 10_000 };
    const response = await postSigned(policy.url, message, key, options, context.log, context.signal);
    context.log.info('Webhook call succeeded', { step, status: response.status, endpoint: policy.url.origin, rotationId: context.rotationId });
    return response;
  }

  /** Parses a 2xx body; a mismatch names the fields, never their contents. */
  function parseBody<T>(step: WebhookStep, response: WebhookResponse, schema: z.ZodType<T>): T {
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      throw new RotatorError(RotatorErrorCode.ProviderRejected, `The webhook's answer to ${step} is not JSON (HTTP ${response.status})`);
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.code}`).join(', ');
    throw new RotatorError(RotatorErrorCode.ProviderRejected, `The webhook's answer to ${step} does not match the protocol (${fields})`);
  }

  function wire(value: SecretValue, extra: Omit<WireCredential, 'value'> = {}): WireCredential {
    return { value: value.reveal(), ...extra };
  }

  function wireCurrent(credential: CurrentCredential): WireCredential {
    return wire(credential.value, { version: credential.version, ...(credential.slot === undefined ? {} : { slot: credential.slot }) });
  }

  function wirePrepared(prepared: PreparedCredential): WireCredential {
    return wire(prepared.value, {
      ...(prepared.slot === undefined ? {} : { slot: prepared.slot }),
      ...(prepared.refs === undefined ? {} : { refs: prepared.refs }),
    });
  }

  return {
    kind: 'webhook',
    strategies: ['single', 'alternating'],
    // restore sends the receiver what prepare made, refs included: alternating keeps its pending version for it.
    restoreNeedsPrepared: true,

    readConfig: (policy) => readWebhookPolicy(policy, policyOptions),

    async prepare(context) {
      const response = await call(context, WebhookStep.Prepare);
      const body = parseBody(WebhookStep.Prepare, response, prepareResponseSchema);
      if (context.policy.strategy === 'alternating' && body.slot === undefined) {
        throw new RotatorError(RotatorErrorCode.ProviderRejected, 'The webhook answered prepare without a slot, which the alternating strategy needs');
      }
      return {
        value: SecretValue.from(body.credential),
        ...(body.slot === undefined ? {} : { slot: body.slot }),
        ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
        ...(body.refs === undefined ? {} : { refs: body.refs }),
      };
    },

    async apply(context, prepared) {
      await call(context, WebhookStep.Apply, { credential: wirePrepared(prepared) });
    },

    async test(context, credential): Promise<CredentialTestResult> {
      const response = await call(context, WebhookStep.Test, { credential: wire(credential) });
      return parseBody(WebhookStep.Test, response, testResponseSchema);
    },

    async restore(context, previous, prepared) {
      await call(context, WebhookStep.Restore, { credential: wireCurrent(previous), prepared: wirePrepared(prepared) });
    },

    async revoke(context, superseded) {
      await call(context, WebhookStep.Revoke, { credential: wireCurrent(superseded) });
    },
  };
}
