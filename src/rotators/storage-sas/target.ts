import { createHash } from 'node:crypto';
import { secretFingerprint, type SecretRef } from '../../keyvault/secret-ref.js';
import { SecretValue } from '../../secrecy/secret-value.js';

/** Where a SAS points: a container, or one blob in it. */
export interface BlobTarget {
  /** The target URL as tagged, without query. */
  readonly url: string;
  readonly accountName: string;
  /** `https://acct.blob.core.windows.net` or, path-style (Azurite), `http://127.0.0.1:10000/acct`. */
  readonly accountUrl: string;
  readonly containerName: string;
  readonly blobName?: string;
}

const pathStyleHost = (hostname: string): boolean => hostname === 'localhost' || /^[\d.]+$/.test(hostname) || hostname.startsWith('[') || !hostname.includes('.');

/** Parses a container or blob URL, host-style (Azure) or path-style (Azurite). `undefined` when it is neither. */
export function parseBlobTarget(value: string): BlobTarget | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') return undefined;
  const segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const pathStyle = pathStyleHost(url.hostname);
  const accountName = pathStyle ? segments.shift() : url.hostname.split('.')[0];
  const containerName = segments.shift();
  if (accountName === undefined || containerName === undefined) return undefined;
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(containerName) && containerName !== '$root') return undefined;
  const blobName = segments.length > 0 ? segments.join('/') : undefined;
  return {
    url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    accountName,
    accountUrl: pathStyle ? `${url.origin}/${accountName}` : url.origin,
    containerName,
    ...(blobName === undefined ? {} : { blobName }),
  };
}

/**
 * Stored access policy ids Rotor creates: `rotor.{secret}.{rotation}`, both
 * parts hashes (ids are at most 64 characters). The secret part lets prepare
 * prune this secret's older policies without touching anyone else's; the
 * rotation part makes a replay find the policy it created.
 */
export function policyPrefix(secret: SecretRef): string {
  return `rotor.${secretFingerprint(secret)}.`;
}

export function policyIdFor(secret: SecretRef, rotationId: string): string {
  return `${policyPrefix(secret)}${createHash('sha256').update(rotationId).digest('hex').slice(0, 16)}`;
}

/** The `si` (stored access policy id) of a SAS URL or token; `undefined` when it is not bound to one. */
export function signedIdentifierOf(value: SecretValue): string | undefined {
  const text = value.reveal().trim();
  const query = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
  const si = new URLSearchParams(query).get('si');
  return si === null || si === '' ? undefined : si;
}

/** The account key in a Key Vault secret holding a bare key or a connection string. */
export function accountKeyFrom(value: SecretValue): { readonly accountName?: string; readonly key: SecretValue } | undefined {
  const text = value.reveal().trim();
  if (text === '') return undefined;
  if (!/AccountKey=/i.test(text)) return { key: value };
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const key = fields.get('accountkey');
  if (key === undefined || key === '') return undefined;
  const accountName = fields.get('accountname');
  return { key: SecretValue.from(key), ...(accountName === undefined ? {} : { accountName }) };
}
