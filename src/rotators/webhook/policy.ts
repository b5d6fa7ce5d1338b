import { secretNameSchema } from '../../keyvault/secret-ref.js';
import type { RotationPolicy } from '../../rotation/policy-types.js';
import { parseIsoDuration } from '../../time/iso-duration.js';
import type { ConfigReading, PolicyProblem } from '../../rotation/rotator.js';

export const WebhookTag = {
  /** The owner's endpoint; HTTPS. */
  Url: 'rotor-webhook-url',
  /** Name of the secret in the same vault whose value is the HMAC signing key. */
  SigningSecret: 'rotor-webhook-signing-secret',
  /** ISO-8601 duration per request; default PT10S, at most PT2M. */
  Timeout: 'rotor-webhook-timeout',
} as const;

export interface WebhookPolicy {
  readonly url: URL;
  readonly signingSecretName: string;
  readonly timeoutMs?: number;
}

const MAX_TIMEOUT_MS = 120_000;

/**
 * Reads and checks the webhook tags. `allowHttp` is for the local stack and
 * nothing else: a signed request over plain HTTP still carries credentials in
 * clear text.
 */
export function readWebhookPolicy(policy: RotationPolicy, options: { readonly allowHttp?: boolean } = {}): ConfigReading<WebhookPolicy> {
  const problems: PolicyProblem[] = [];
  const tags = policy.tags;

  let url: URL | undefined;
  const urlText = tags[WebhookTag.Url];
  if (urlText === undefined) {
    problems.push({ tag: WebhookTag.Url, message: 'is required: the HTTPS endpoint that rotates this credential' });
  } else {
    try {
      url = new URL(urlText.trim());
    } catch {
      problems.push({ tag: WebhookTag.Url, message: 'must be an absolute URL such as https://rotation.example.com/rotor' });
    }
    if (url !== undefined) {
      const allowed = options.allowHttp === true ? ['https:', 'http:'] : ['https:'];
      if (!allowed.includes(url.protocol)) {
        problems.push({ tag: WebhookTag.Url, message: 'must use https: requests carry credentials' });
        url = undefined;
      } else if (url.username !== '' || url.password !== '') {
        problems.push({ tag: WebhookTag.Url, message: 'must not contain credentials; requests are authenticated by their signature' });
        url = undefined;
      }
    }
  }

  const signingSecret = tags[WebhookTag.SigningSecret];
  let signingSecretName: string | undefined;
  if (signingSecret === undefined) {
    problems.push({ tag: WebhookTag.SigningSecret, message: 'is required: the name of the secret holding the HMAC signing key' });
  } else {
    const parsed = secretNameSchema.safeParse(signingSecret.trim());
    if (parsed.success) signingSecretName = parsed.data;
    else problems.push({ tag: WebhookTag.SigningSecret, message: 'must be the name of a secret in the same vault (1-127 letters, digits or hyphens)' });
  }

  const timeoutText = tags[WebhookTag.Timeout];
  let timeoutMs: number | undefined;
  if (timeoutText !== undefined) {
    timeoutMs = parseIsoDuration(timeoutText);
    if (timeoutMs === undefined || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      problems.push({ tag: WebhookTag.Timeout, message: 'must be an ISO-8601 duration between PT1S and PT2M, such as PT10S' });
    }
  }

  if (problems.length > 0 || url === undefined || signingSecretName === undefined) return { ok: false, problems };
  return { ok: true, config: { url, signingSecretName, ...(timeoutMs === undefined ? {} : { timeoutMs }) } };
}
