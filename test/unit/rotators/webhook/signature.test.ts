import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { computeSignature, signatureHeader } from '../../../../src/rotators/webhook/index.js';
import { SecretValue } from '../../../../src/secrecy/secret-value.js';
import { createReplayGuard, verifyRotorSignature } from '../../../../examples/webhook-receiver/verify.js';

/** Rotor's signer against the example receiver's verifier: the two halves of the documented scheme. */
const KEY = 'whsec-test-signing-key-0123456789abcdef';
const BODY = '{"protocol":"rotor-webhook/1","deliveryId":"d-1","step":"prepare"}';
const NOW = 1_760_000_000;

describe('webhook signature scheme', () => {
  it('is HMAC-SHA256 over "<t>.<body>" in lowercase hex, as documented', () => {
    // Prepare: computed independently of Rotor's code
    const expected = createHmac('sha256', KEY).update(`${NOW}.${BODY}`).digest('hex');

    // Act
    const header = signatureHeader(SecretValue.from(KEY), NOW, BODY);

    // Assess
    expect(header).toBe(`t=${NOW},v1=${expected}`);
    expect(computeSignature(SecretValue.from(KEY), NOW, BODY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('matches the test vector in docs/rotators/webhook.md', async () => {
    // Prepare
    const doc = await readFile(new URL('../../../../docs/rotators/webhook.md', import.meta.url), 'utf8');
    const body = '{"protocol":"rotor-webhook/1","deliveryId":"00000000-0000-4000-8000-000000000000"}';

    // Act
    const header = signatureHeader(SecretValue.from('rotor-example-signing-key'), 1_760_000_000, body);

    // Assess
    expect(doc).toContain(`X-Rotor-Signature: ${header}`);
    expect(doc).toContain(body);
  });

  it('verifies what Rotor signs', () => {
    const header = signatureHeader(SecretValue.from(KEY), NOW, BODY);

    expect(verifyRotorSignature({ header, body: BODY, key: KEY, nowSeconds: NOW + 10 })).toEqual({ ok: true, timestamp: NOW });
  });

  it.each([
    { case: 'a tampered body', header: () => signatureHeader(SecretValue.from(KEY), NOW, BODY), body: BODY.replace('prepare', 'revoke'), now: NOW, reason: 'signature mismatch' },
    { case: 'another key', header: () => signatureHeader(SecretValue.from('another-key-entirely-0123456789'), NOW, BODY), body: BODY, now: NOW, reason: 'signature mismatch' },
    { case: 'a tampered timestamp', header: () => signatureHeader(SecretValue.from(KEY), NOW, BODY).replace(`t=${NOW}`, `t=${NOW + 1}`), body: BODY, now: NOW, reason: 'signature mismatch' },
    { case: 'a stale timestamp (replayed later)', header: () => signatureHeader(SecretValue.from(KEY), NOW, BODY), body: BODY, now: NOW + 301, reason: 'timestamp outside the tolerance window' },
    { case: 'a timestamp from the future', header: () => signatureHeader(SecretValue.from(KEY), NOW + 301, BODY), body: BODY, now: NOW, reason: 'timestamp outside the tolerance window' },
    { case: 'no header', header: () => undefined, body: BODY, now: NOW, reason: 'missing X-Rotor-Signature header' },
    { case: 'no signature', header: () => `t=${NOW}`, body: BODY, now: NOW, reason: 'malformed X-Rotor-Signature header' },
    { case: 'no timestamp', header: () => signatureHeader(SecretValue.from(KEY), NOW, BODY).replace(`t=${NOW},`, ''), body: BODY, now: NOW, reason: 'malformed X-Rotor-Signature header' },
    { case: 'a signature of the wrong length', header: () => `t=${NOW},v1=abcd`, body: BODY, now: NOW, reason: 'malformed X-Rotor-Signature header' },
  ])('refuses $case', ({ header, body, now, reason }) => {
    expect(verifyRotorSignature({ header: header(), body, key: KEY, nowSeconds: now })).toEqual({ ok: false, reason });
  });

  it('accepts any of several v1 signatures, so a key can be rolled', () => {
    // Prepare
    const oldKey = 'old-signing-key-0123456789abcdefgh';
    const header = `t=${NOW},v1=${computeSignature(SecretValue.from(oldKey), NOW, BODY)},v1=${computeSignature(SecretValue.from(KEY), NOW, BODY)}`;

    // Act + Assess
    expect(verifyRotorSignature({ header, body: BODY, key: KEY, nowSeconds: NOW }).ok).toBe(true);
    expect(verifyRotorSignature({ header, body: BODY, key: oldKey, nowSeconds: NOW }).ok).toBe(true);
  });
});

describe('createReplayGuard', () => {
  it('accepts a delivery id once, and forgets it after twice the window', () => {
    // Prepare
    let now = NOW;
    const guard = createReplayGuard(300, () => now);

    // Act + Assess
    expect(guard.firstSeen('d-1')).toBe(true);
    expect(guard.firstSeen('d-1')).toBe(false);
    expect(guard.firstSeen('d-2')).toBe(true);
    now += 601;
    expect(guard.firstSeen('d-1')).toBe(true);
  });
});
