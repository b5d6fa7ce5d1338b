import { createHmac, timingSafeEqual } from 'node:crypto';

/** CBS token types the SDK sends with `put-token`. */
export const cbsTokenTypes = {
  sas: 'servicebus.windows.net:sastoken',
  jwt: 'jwt',
} as const;

export interface SharedAccessKey {
  readonly keyName: string;
  readonly key: string;
}

/**
 * Checks a `SharedAccessSignature sr=..&sig=..&se=..&skn=..` token the way the
 * service does: the key name matches, it has not expired, and the signature is
 * HMAC-SHA256 over `<encoded resource>\n<expiry>` with the shared key. A
 * client built from the emulator's connection string passes; one with another
 * key gets `UnauthorizedAccess`.
 */
export function isValidSasToken(token: string, credentials: SharedAccessKey, nowMs: number): boolean {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) return false;
  const fields = new Map<string, string>();
  for (const pair of token.slice(prefix.length).split('&')) {
    const at = pair.indexOf('=');
    if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const resource = fields.get('sr');
  const signature = fields.get('sig');
  const expiry = fields.get('se');
  const keyName = fields.get('skn');
  if (resource === undefined || signature === undefined || expiry === undefined || keyName === undefined) return false;
  if (safeDecode(keyName) !== credentials.keyName) return false;
  if (!/^\d+$/.test(expiry) || Number(expiry) * 1000 <= nowMs) return false;
  const expected = Buffer.from(createHmac('sha256', credentials.key).update(`${resource}\n${expiry}`).digest('base64'));
  const given = Buffer.from(safeDecode(signature));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The entity path a CBS audience (`sb://host:port/<path>`) grants, lower-cased. */
export function audiencePath(audience: string): string | undefined {
  try {
    return new URL(audience).pathname.replace(/^\/+|\/+$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
