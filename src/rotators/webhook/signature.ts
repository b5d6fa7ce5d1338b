import { createHmac } from 'node:crypto';
import type { SecretValue } from '../../secrecy/secret-value.js';

/**
 * How Rotor signs webhook requests, in the shape Stripe made familiar:
 *
 *   X-Rotor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<raw body>")>
 *
 * The key is the UTF-8 text of the Key Vault secret named by
 * `rotor-webhook-signing-secret`. Receivers recompute the HMAC over the exact
 * bytes received, compare in constant time, refuse a `t` outside their
 * tolerance (Rotor recommends 5 minutes) and refuse a `deliveryId` seen before
 * within it. Several `v1=` entries may appear, so a key can be rolled with
 * both old and new signatures present; Rotor itself sends one.
 */
export const SIGNATURE_HEADER = 'x-rotor-signature';
export const SIGNATURE_SCHEME = 'v1';
/** What receivers should accept, and what the example receiver does. */
export const RECOMMENDED_TOLERANCE_SECONDS = 300;

export function computeSignature(key: SecretValue, timestampSeconds: number, body: string): string {
  return createHmac('sha256', key.reveal()).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/** The header value for `body` signed at `timestampSeconds`. */
export function signatureHeader(key: SecretValue, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},${SIGNATURE_SCHEME}=${computeSignature(key, timestampSeconds, body)}`;
}
