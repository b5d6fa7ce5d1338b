import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { headerValue, isOutboundError, sendOutbound } from './outbound.js';
import type { EventGridEnvelope } from './types.js';

/** The origin Event Grid names in the CloudEvents abuse-protection handshake. */
export const eventGridOrigin = 'eventgrid.azure.net';

export const validationEventType = 'Microsoft.EventGrid.SubscriptionValidationEvent';

/** What the first step of a handshake established. */
export type HandshakeResult =
  | { readonly kind: 'validated'; readonly allowedRate?: string }
  /** The endpoint accepted the request but did not consent synchronously: wait for a GET on the validation / callback URL. */
  | { readonly kind: 'awaitingManual' }
  | { readonly kind: 'failed'; readonly reason: string };

export interface HandshakeRequest {
  readonly subscriptionName: string;
  readonly endpointUrl: string;
  readonly topicResourceId: string;
  readonly validationCode: string;
  /** GET (or, for CloudEvents, POST) here grants consent asynchronously. */
  readonly validationUrl: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly ca?: string | Buffer;
  /** CloudEvents only: ask for this rate (requests per minute) with `WebHook-Request-Rate`. */
  readonly requestRate?: number;
}

const validationAnswerSchema = z.object({ validationResponse: z.string() });

function failureText(error: unknown): string {
  return isOutboundError(error) ? `${error.failure}: ${error.message}` : String(error);
}

/**
 * Event Grid schema handshake: POST a SubscriptionValidationEvent and expect
 * `200 {"validationResponse": "<code>"}`. A 200 without the field leaves the
 * subscription awaiting the manual GET on `validationUrl` (202 is not accepted,
 * as documented).
 */
export async function performEventGridHandshake(req: HandshakeRequest): Promise<HandshakeResult> {
  const event: EventGridEnvelope = {
    id: randomUUID(),
    topic: req.topicResourceId,
    subject: '',
    eventType: validationEventType,
    eventTime: new Date().toISOString(),
    data: { validationCode: req.validationCode, validationUrl: req.validationUrl },
    dataVersion: '1',
    metadataVersion: '1',
  };
  let response;
  try {
    response = await sendOutbound({
      url: req.endpointUrl,
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'aeg-event-type': 'SubscriptionValidation',
        'aeg-subscription-name': req.subscriptionName.toUpperCase(),
        'aeg-delivery-count': '0',
        'aeg-data-version': event.dataVersion,
        'aeg-metadata-version': event.metadataVersion,
      },
      body: JSON.stringify([event]),
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      ...(req.ca === undefined ? {} : { ca: req.ca }),
    });
  } catch (error) {
    return { kind: 'failed', reason: `the validation event could not be delivered (${failureText(error)})` };
  }
  if (response.status !== 200) {
    return { kind: 'failed', reason: `the endpoint answered ${response.status} to the validation event; it must answer 200 with {"validationResponse": "<code>"}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    return { kind: 'awaitingManual' };
  }
  const answer = validationAnswerSchema.safeParse(parsed);
  if (!answer.success) return { kind: 'awaitingManual' };
  if (answer.data.validationResponse !== req.validationCode) {
    return { kind: 'failed', reason: 'the validationResponse does not match the validationCode that was sent' };
  }
  return { kind: 'validated' };
}

/**
 * CloudEvents 1.0 abuse protection: OPTIONS with `WebHook-Request-Origin`
 * (and `WebHook-Request-Callback` for asynchronous consent); consent is a
 * `WebHook-Allowed-Origin` of our origin or `*`, plus `WebHook-Allowed-Rate`
 * whenever a rate was requested.
 */
export async function performCloudEventsHandshake(req: HandshakeRequest): Promise<HandshakeResult> {
  const headers: Record<string, string> = {
    'webhook-request-origin': eventGridOrigin,
    'webhook-request-callback': req.validationUrl,
  };
  if (req.requestRate !== undefined) headers['webhook-request-rate'] = String(req.requestRate);
  let response;
  try {
    response = await sendOutbound({
      url: req.endpointUrl,
      method: 'OPTIONS',
      headers,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      ...(req.ca === undefined ? {} : { ca: req.ca }),
    });
  } catch (error) {
    return { kind: 'failed', reason: `the OPTIONS validation request could not be delivered (${failureText(error)})` };
  }
  if (response.status < 200 || response.status > 299) {
    return { kind: 'failed', reason: `the endpoint answered ${response.status} to the OPTIONS validation request` };
  }
  const allowedOrigin = headerValue(response.headers, 'webhook-allowed-origin');
  if (allowedOrigin === undefined) return { kind: 'awaitingManual' };
  if (allowedOrigin !== '*' && allowedOrigin.toLowerCase() !== eventGridOrigin) {
    return { kind: 'failed', reason: `WebHook-Allowed-Origin is '${allowedOrigin}', not '${eventGridOrigin}' or '*'` };
  }
  const allowedRate = headerValue(response.headers, 'webhook-allowed-rate');
  if (allowedRate !== undefined && allowedRate !== '*' && !/^[1-9]\d*$/.test(allowedRate)) {
    return { kind: 'failed', reason: `WebHook-Allowed-Rate '${allowedRate}' is neither '*' nor a positive whole number` };
  }
  if (req.requestRate !== undefined && allowedRate === undefined) {
    return { kind: 'failed', reason: 'WebHook-Request-Rate was sent but the answer has no WebHook-Allowed-Rate' };
  }
  return allowedRate === undefined ? { kind: 'validated' } : { kind: 'validated', allowedRate };
}
