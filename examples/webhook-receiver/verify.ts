import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies Rotor's `X-Rotor-Signature: t=<unix seconds>,v1=<hex>` header.
 * Self-contained (node:crypto only) so it can be copied into any receiver.
 *
 * 1. Parse `t` and every `v1` from the header.
 * 2. Refuse a `t` more than `toleranceSeconds` away from now (stale or replayed later).
 * 3. Compute HMAC-SHA256(signing key, `${t}.${raw body}`) over the exact bytes
 *    received (before any JSON parsing) and compare in constant time.
 * Then refuse a `deliveryId` seen before within the tolerance (`createReplayGuard`).
 */
export type VerifyResult = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

export interface VerifyOptions {
  readonly header: string | undefined;
  /** The raw request body, exactly as received. */
  readonly body: string;
  /** The signing key: the value of the Key Vault secret Rotor signs with. */
  readonly key: string;
  readonly nowSeconds?: number;
  /** Default 300 (5 minutes). */
  readonly toleranceSeconds?: number;
}

export function verifyRotorSignature(options: VerifyOptions): VerifyResult {
  const { header, body, key } = options;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (header === undefined || header === '') return { ok: false, reason: 'missing X-Rotor-Signature header' };

  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === 't' && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (name === 'v1' && value !== undefined && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed X-Rotor-Signature header' };
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: 'timestamp outside the tolerance window' };

  const expected = createHmac('sha256', key).update(`${timestamp}.${body}`, 'utf8').digest();
  const match = signatures.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  return match ? { ok: true, timestamp } : { ok: false, reason: 'signature mismatch' };
}

/**
 * Remembers delivery ids for the tolerance window: a request replayed inside
 * the window carries a valid signature but a delivery id already seen. One
 * process only; receivers running on several instances keep this in a shared
 * store (a table with a unique key, Redis `SET NX EX`).
 */
export function createReplayGuard(toleranceSeconds = 300, nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {
  const seen = new Map<string, number>();
  return {
    /** True the first time `deliveryId` is presented; false for a replay. */
    firstSeen(deliveryId: string): boolean {
      const now = nowSeconds();
      for (const [id, at] of seen) if (now - at > 2 * toleranceSeconds) seen.delete(id);
      if (seen.has(deliveryId)) return false;
      seen.set(deliveryId, now);
      return true;
    },
  };
}
