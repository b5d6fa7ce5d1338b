import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new access key shaped like the service's: 32 random bytes, base64 (44 characters). */
export function generateTopicKey(): string {
  return randomBytes(32).toString('base64');
}

function sameText(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export type AuthResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Parses the time format the SDK signs (`M/d/yyyy h:mm:ss AM`, UTC; .NET's
 * en-US `DateTime.ToString()`), returning epoch milliseconds.
 */
export function parseServiceTime(text: string): number | undefined {
  const match = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/.exec(text);
  if (match === null) return undefined;
  const [, month, day, year, hour12, minute, second, half] = match;
  const hour = (Number(hour12) % 12) + (half === 'PM' ? 12 : 0);
  return Date.UTC(Number(year), Number(month) - 1, Number(day), hour, Number(minute), Number(second));
}

function resourcePath(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`.toLowerCase().replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/**
 * Checks a shared access signature `r=<resource>&e=<expiry>&s=<signature>`:
 * the signature is HMAC-SHA256 over `r=...&e=...` with the base64-decoded
 * key, the resource must be this topic's endpoint and the expiry in the future.
 */
export function verifySharedAccessSignature(token: string, keys: readonly string[], topicEndpoint: string, now = Date.now()): AuthResult {
  const signatureAt = token.lastIndexOf('&s=');
  if (!token.startsWith('r=') || signatureAt < 0) return { ok: false, reason: 'the SAS token is malformed (expected r=...&e=...&s=...)' };
  const unsigned = token.slice(0, signatureAt);
  const fields = new Map(
    unsigned.split('&').map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq), part.slice(eq + 1)] as const;
    }),
  );
  const resource = fields.get('r');
  const expiry = fields.get('e');
  if (resource === undefined || expiry === undefined) return { ok: false, reason: 'the SAS token is malformed (expected r=...&e=...&s=...)' };
  let signature: string;
  let expiresAt: number | undefined;
  let resourceUrl: string;
  try {
    signature = decodeURIComponent(token.slice(signatureAt + 3));
    expiresAt = parseServiceTime(decodeURIComponent(expiry));
    resourceUrl = decodeURIComponent(resource);
  } catch {
    return { ok: false, reason: 'the SAS token is not URL-encoded correctly' };
  }
  if (expiresAt === undefined) return { ok: false, reason: 'the SAS token expiry is not a valid time' };
  if (expiresAt <= now) return { ok: false, reason: 'the SAS token has expired' };
  if (resourcePath(resourceUrl) !== resourcePath(topicEndpoint)) {
    return { ok: false, reason: 'the SAS token was issued for another resource' };
  }
  const valid = keys.some((key) => sameText(createHmac('sha256', Buffer.from(key, 'base64')).update(unsigned).digest('base64'), signature));
  return valid ? { ok: true } : { ok: false, reason: 'the SAS token signature does not match a topic key' };
}

/**
 * A publish request's credentials: `aeg-sas-key` (AzureKeyCredential),
 * `aeg-sas-token` (AzureSASCredential) or `Authorization: SharedAccessSignature <token>`.
 */
export function authorizePublish(
  headers: { sasKey?: string; sasToken?: string; authorization?: string },
  keys: readonly string[],
  topicEndpoint: string,
): AuthResult {
  if (headers.sasKey !== undefined) {
    const sasKey = headers.sasKey;
    return keys.some((key) => sameText(key, sasKey)) ? { ok: true } : { ok: false, reason: 'the aeg-sas-key is not a key of this topic' };
  }
  if (headers.sasToken !== undefined) return verifySharedAccessSignature(headers.sasToken, keys, topicEndpoint);
  const prefix = 'SharedAccessSignature ';
  if (headers.authorization?.startsWith(prefix) === true) {
    return verifySharedAccessSignature(headers.authorization.slice(prefix.length), keys, topicEndpoint);
  }
  if (headers.authorization?.startsWith('Bearer ') === true) {
    return { ok: false, reason: 'Microsoft Entra tokens are not emulated; use aeg-sas-key or a SAS token' };
  }
  return { ok: false, reason: 'the request has no aeg-sas-key, aeg-sas-token or SharedAccessSignature authorization' };
}
