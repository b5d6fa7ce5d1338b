import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import type { Logger } from '../observability/logger.js';
import type { Page, SecretStore, SecretVersionInfo, StoredSecret } from '../rotation/ports.js';
import { SecretValue } from '../secrecy/secret-value.js';
import { SecretStoreError, SecretStoreErrorCode } from './errors.js';
import { enableListingPages, isListingLinkOf, listSecretsPage } from './listing-pages.js';
import { formatSecretRef, type SecretRef } from './secret-ref.js';

/**
 * Key Vault's documented backoff for throttling: 1, 2, 4, 8, 16 seconds. The
 * SDK retries 429 only when a Retry-After header is present (Key Vault usually
 * sends none), so the store backs off itself; build the `SecretClient` with
 * `retryOptions: { maxRetries: 0 }` so the two do not multiply.
 */
export const keyVaultBackoffMs: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000];

export interface KeyVaultSecretStoreOptions {
  /** The client for a vault origin; called once per vault, the result is kept. */
  readonly clientFor: (vaultUrl: string) => SecretClient;
  /** Delays before each retry; its length is the number of retries. Tests pass milliseconds. */
  readonly backoffMs?: readonly number[];
  /** Jitter in [0, 1): each delay is scaled by 0.75-1.25. */
  readonly random?: () => number;
  readonly logger?: Logger;
}

type Operation = 'get' | 'set' | 'update' | 'list' | 'listVersions';

/** A vault's secrets a page at a time: one listing call per page (Key Vault lists at most 25 per call). */
export interface SecretPages {
  listSecretsPage(vaultUrl: string, options: { readonly continuationToken?: string; readonly limit: number }): Promise<Page<SecretVersionInfo>>;
}

export function hasSecretPages(store: SecretStore): store is SecretStore & SecretPages {
  return typeof (store as Partial<SecretPages>).listSecretsPage === 'function';
}

/**
 * `SecretStore` over `@azure/keyvault-secrets`. Needs Key Vault Secrets
 * Officer on each vault. Every SDK error is translated once, here, into a
 * `SecretStoreError` whose message names the operation and the secret, never
 * the value or the server's text.
 *
 * Retries: reads, updates and listings retry on 429 and 5xx/connection errors;
 * `set` retries on 429 only, because a 5xx or reset after the request was sent
 * may have created a version, and a blind retry would create a second one —
 * the engine's step retry finds its own version by tag instead.
 */
export function createKeyVaultSecretStore(options: KeyVaultSecretStoreOptions): SecretStore & SecretPages {
  const clients = new Map<string, SecretClient>();
  const backoff = options.backoffMs ?? keyVaultBackoffMs;
  const random = options.random ?? Math.random;
  /** Per vault origin: whether the client tells a page's next token. */
  const pagesByToken = new Map<string, boolean>();

  function client(vaultUrl: string): SecretClient {
    const origin = new URL(vaultUrl).origin;
    let found = clients.get(origin);
    if (found === undefined) {
      found = options.clientFor(origin);
      pagesByToken.set(origin, enableListingPages(found));
      clients.set(origin, found);
    }
    return found;
  }

  async function call<T>(operation: Operation, ref: SecretRef, version: string | undefined, action: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry += 1) {
      try {
        return await action();
      } catch (error) {
        const translated = translate(error, operation, ref, version);
        const retryable = translated.code === SecretStoreErrorCode.Throttled || (translated.transient && operation !== 'set');
        const base = backoff[retry];
        if (!retryable || base === undefined) throw translated;
        const delay = Math.max(base * (0.75 + random() / 2), retryAfterMs(error) ?? 0);
        options.logger?.debug('key vault call backing off', { operation, secretRef: formatSecretRef(ref), code: translated.code, retry: retry + 1, delayMs: Math.round(delay) });
        await sleep(delay);
      }
    }
  }

  async function getOrUndefined(ref: SecretRef, version: string | undefined): Promise<StoredSecret | undefined> {
    try {
      const secret = await call('get', ref, version, () => client(ref.vaultUrl).getSecret(ref.name, version === undefined ? {} : { version }));
      return stored(ref, secret);
    } catch (error) {
      if (error instanceof SecretStoreError && error.code === SecretStoreErrorCode.NotFound) return undefined;
      throw error;
    }
  }

  return {
    getLatest: (ref) => getOrUndefined(ref, undefined),
    getVersion: (ref, version) => getOrUndefined(ref, version),

    async setSecret(ref, secret) {
      const written = await call('set', ref, undefined, () =>
        client(ref.vaultUrl).setSecret(ref.name, secret.value.reveal(), {
          tags: { ...secret.tags },
          ...(secret.contentType === undefined ? {} : { contentType: secret.contentType }),
          ...(secret.expiresOn === undefined ? {} : { expiresOn: secret.expiresOn }),
          ...(secret.notBefore === undefined ? {} : { notBefore: secret.notBefore }),
          ...(secret.enabled === undefined ? {} : { enabled: secret.enabled }),
        }),
      );
      return info(ref, written.properties);
    },

    async setEnabled(ref, version, enabled) {
      await call('update', ref, version, () => client(ref.vaultUrl).updateSecretProperties(ref.name, version, { enabled }));
    },

    async *listVersions(ref) {
      yield* paged('listVersions', ref, () => client(ref.vaultUrl).listPropertiesOfSecretVersions(ref.name));
    },

    async *listSecrets(vaultUrl) {
      const ref = { vaultUrl, name: '*' };
      yield* paged('list', ref, () => client(vaultUrl).listPropertiesOfSecrets());
    },

    async listSecretsPage(vaultUrl, pageOptions) {
      const ref = { vaultUrl, name: '*' };
      const token = pageOptions.continuationToken;
      if (token !== undefined && !isListingLinkOf(vaultUrl, token)) {
        throw new SecretStoreError(SecretStoreErrorCode.BadRequest, 'list: the continuation token is not a listing link of this vault');
      }
      const kv = client(vaultUrl);
      if (pagesByToken.get(new URL(vaultUrl).origin) !== true) throw new SecretStoreError(SecretStoreErrorCode.Unknown, 'list: this client cannot page');
      const page = await call('list', ref, undefined, () => listSecretsPage(kv, { maxPageSize: Math.min(Math.max(pageOptions.limit, 1), 25), ...(token === undefined ? {} : { continuationToken: token }) }));
      const items = page.items.map((p) => info({ vaultUrl, name: p.name }, p));
      return page.continuationToken === undefined ? { items } : { items, continuationToken: page.continuationToken };
    },
  };

  /**
   * Lists through the SDK's item iterator. A failed page restarts the listing
   * and skips what was already yielded: in 4.11 `byPage()` maps each page into
   * a new array and drops its `continuationToken`, so a listing cannot resume
   * from a token.
   */
  async function* paged(operation: Operation, ref: SecretRef, list: () => AsyncIterableIterator<SecretProperties>): AsyncIterable<SecretVersionInfo> {
    let yielded = 0;
    for (let retry = 0; ; retry += 1) {
      let seen = 0;
      try {
        for await (const properties of list()) {
          seen += 1;
          if (seen <= yielded) continue;
          yielded += 1;
          yield info({ vaultUrl: ref.vaultUrl, name: properties.name }, properties);
        }
        return;
      } catch (error) {
        const translated = translate(error, operation, ref);
        const base = backoff[retry];
        if (!translated.transient || base === undefined) throw translated;
        await sleep(Math.max(base * (0.75 + random() / 2), retryAfterMs(error) ?? 0));
      }
    }
  }
}

function info(ref: SecretRef, p: SecretProperties): SecretVersionInfo {
  return {
    secret: ref,
    version: p.version ?? '',
    enabled: p.enabled ?? true,
    tags: { ...p.tags },
    ...(p.contentType === undefined ? {} : { contentType: p.contentType }),
    ...(p.createdOn === undefined ? {} : { createdOn: p.createdOn }),
    ...(p.updatedOn === undefined ? {} : { updatedOn: p.updatedOn }),
    ...(p.expiresOn === undefined ? {} : { expiresOn: p.expiresOn }),
    ...(p.notBefore === undefined ? {} : { notBefore: p.notBefore }),
  };
}

function stored(ref: SecretRef, secret: KeyVaultSecret): StoredSecret {
  return { ...info(ref, secret.properties), value: SecretValue.from(secret.value ?? '') };
}

/**
 * The SDK's `RestError`, recognised by shape: `@azure/core-rest-pipeline` is
 * only a transitive dependency, and its `isRestError` checks the name too.
 */
interface RestErrorLike {
  readonly name: 'RestError';
  readonly statusCode?: number;
  readonly code?: string;
  readonly details?: unknown;
  readonly response?: { readonly headers: { get(name: string): string | undefined } };
}

function isRestError(error: unknown): error is RestErrorLike {
  return error instanceof Error && error.name === 'RestError';
}

function retryAfterMs(error: unknown): number | undefined {
  if (!isRestError(error)) return undefined;
  const header = error.response?.headers.get('retry-after');
  if (header === undefined) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
}

/** Key Vault's error body (`{ error: { code, innerError: { code } } }`) as the SDK attaches it to `details`. */
function innerCode(details: unknown): string | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const error = (details as { error?: { innerError?: { code?: unknown } } }).error;
  const code = error?.innerError?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The one place an SDK error becomes a `SecretStoreError`. */
export function translate(error: unknown, operation: string, ref: SecretRef, version?: string): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const what = `${operation} ${ref.name}${version === undefined ? '' : `/${version}`}`;
  if (!isRestError(error)) {
    const name = error instanceof Error ? error.name : typeof error;
    return new SecretStoreError(SecretStoreErrorCode.Unavailable, `${what}: ${name}`, { cause: error });
  }
  const status = error.statusCode;
  const code = error.code ?? '';
  const make = (c: SecretStoreErrorCode): SecretStoreError =>
    new SecretStoreError(c, `${what}: ${status ?? 'no response'} ${code}`.trim(), { cause: error, ...(status === undefined ? {} : { statusCode: status }) });
  if (status === undefined) return make(SecretStoreErrorCode.Unavailable); // connection reset, timeout, DNS
  if (status === 404) return make(SecretStoreErrorCode.NotFound);
  if (status === 403 && (code === 'SecretDisabled' || innerCode(error.details) === 'SecretDisabled')) return make(SecretStoreErrorCode.SecretDisabled);
  if (status === 401 || status === 403) return make(SecretStoreErrorCode.Forbidden);
  if (status === 429) return make(SecretStoreErrorCode.Throttled);
  if (status === 409) return make(SecretStoreErrorCode.Conflict);
  if (status === 400) return make(SecretStoreErrorCode.BadRequest);
  if (status >= 500) return make(SecretStoreErrorCode.Unavailable);
  return make(SecretStoreErrorCode.Unknown);
}
