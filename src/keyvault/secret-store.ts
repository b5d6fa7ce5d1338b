import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import type { Logger } from '../observability/logger.js';
import type { Page, SecretRead, SecretStore, SecretVersionInfo, StoredSecret } from '../rotation/ports.js';
import { SecretValue } from '../secrecy/secret-value.js';
import { isSecretStoreError, SecretStoreError, SecretStoreErrorCode } from './errors.js';
import { enableListingPages, isListingLinkOf, listSecretsPage } from './listing-pages.js';
import { formatSecretRef, type SecretRef } from './secret-ref.js';
import { describeRestFailure, readRestError, RestFailureKind } from '../azure/rest-error.js';

/**
 * Key Vault's documented backoff: 1, 2, 4, 8, 16 seconds. The SDK retries 429
 * only when a Retry-After header is present (Key Vault usually sends none), so
 * the store decides itself; build the `SecretClient` with
 * `retryOptions: { maxRetries: 0 }` so the two do not multiply.
 *
 * A 429 is never slept out here: the call fails at once with a `Throttled`
 * error whose `notBefore` is the Retry-After, else the next delay of this
 * ladder for the vault (429s less than a window apart climb it, a quiet
 * window resets it). The engine schedules the step for then. 5xx and
 * connection errors are retried here, after these delays.
 */
export const keyVaultBackoffMs: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000];

/** A 429 this long after the vault's previous one starts the ladder again (Key Vault's window is 10 s). */
const THROTTLE_STREAK_MS = 20_000;

export interface KeyVaultSecretStoreOptions {
  /** The client for a vault origin; called once per vault, the result is kept. */
  readonly clientFor: (vaultUrl: string) => SecretClient;
  /** Delays before each retry (and the 429 ladder); its length is the number of retries. Tests pass milliseconds. */
  readonly backoffMs?: readonly number[];
  /** Jitter in [0, 1): each delay is scaled by 0.75-1.25. */
  readonly random?: () => number;
  /** Milliseconds since the epoch, for a throttled call's `notBefore`. */
  readonly now?: () => number;
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
 * Retries: reads and updates retry on 5xx/connection errors; `set` does not,
 * because a 5xx or reset after the request was sent may have created a
 * version, and a blind retry would create a second one — the engine's step
 * retry finds its own version by tag instead. A 429 is not retried here: it
 * fails at once, `Throttled` with `notBefore` (see `keyVaultBackoffMs`).
 * Listings (the sweep, the API; never a step) still back off and go on,
 * 429 included, so a long listing is not restarted from the top.
 */
export function createKeyVaultSecretStore(options: KeyVaultSecretStoreOptions): SecretStore & SecretPages {
  const clients = new Map<string, SecretClient>();
  const backoff = options.backoffMs ?? keyVaultBackoffMs;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
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

  /** Per vault origin: the last 429 and how far up the ladder it was. */
  const streaks = new Map<string, { at: number; rung: number }>();

  /** When a throttled call may come back: Retry-After, else the vault's next rung of the ladder. */
  function throttledUntil(ref: SecretRef, error: unknown): Date {
    const origin = new URL(ref.vaultUrl).origin;
    const at = now();
    const last = streaks.get(origin);
    const rung = last !== undefined && at - last.at < THROTTLE_STREAK_MS ? Math.min(last.rung + 1, Math.max(0, backoff.length - 1)) : 0;
    streaks.set(origin, { at, rung });
    const base = backoff[rung] ?? 0;
    return new Date(at + Math.max(base * (0.75 + random() / 2), retryAfterMs(error) ?? 0));
  }

  async function call<T>(operation: Operation, ref: SecretRef, version: string | undefined, action: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry += 1) {
      try {
        return await action();
      } catch (error) {
        const translated = translate(error, operation, ref, version);
        if (translated.code === SecretStoreErrorCode.Throttled) {
          const notBefore = throttledUntil(ref, error);
          options.logger?.debug('key vault throttled the call', { operation, secretRef: formatSecretRef(ref), notBefore: notBefore.toISOString() });
          throw new SecretStoreError(translated.code, translated.message, { cause: error, notBefore, ...(translated.statusCode === undefined ? {} : { statusCode: translated.statusCode }) });
        }
        const retryable = translated.transient && operation !== 'set';
        const base = backoff[retry];
        if (!retryable || base === undefined) throw translated;
        const delay = Math.max(base * (0.75 + random() / 2), retryAfterMs(error) ?? 0);
        options.logger?.debug('key vault call backing off', { operation, secretRef: formatSecretRef(ref), code: translated.code, retry: retry + 1, delayMs: Math.round(delay) });
        await sleep(delay);
      }
    }
  }

  async function read(ref: SecretRef, version: string | undefined): Promise<SecretRead> {
    try {
      const secret = await call('get', ref, version, () => client(ref.vaultUrl).getSecret(ref.name, version === undefined ? {} : { version }));
      return { kind: 'found', secret: stored(ref, secret) };
    } catch (error) {
      if (isSecretStoreError(error, SecretStoreErrorCode.NotFound)) return { kind: 'missing' };
      if (isSecretStoreError(error, SecretStoreErrorCode.SecretDisabled)) return { kind: 'disabled' };
      throw error;
    }
  }

  return {
    getLatest: (ref) => read(ref, undefined),
    getVersion: (ref, version) => read(ref, version),

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

const fromRest: Record<RestFailureKind, SecretStoreErrorCode> = {
  [RestFailureKind.NoAnswer]: SecretStoreErrorCode.Unavailable,
  [RestFailureKind.PermissionDenied]: SecretStoreErrorCode.Forbidden,
  [RestFailureKind.NotFound]: SecretStoreErrorCode.NotFound,
  [RestFailureKind.Conflict]: SecretStoreErrorCode.Conflict,
  [RestFailureKind.Throttled]: SecretStoreErrorCode.Throttled,
  [RestFailureKind.Unavailable]: SecretStoreErrorCode.Unavailable,
  [RestFailureKind.Rejected]: SecretStoreErrorCode.BadRequest,
};

function retryAfterMs(error: unknown): number | undefined {
  return readRestError(error)?.retryAfterMs;
}

/** The one place an SDK error becomes a `SecretStoreError`. */
export function translate(error: unknown, operation: string, ref: SecretRef, version?: string): SecretStoreError {
  if (error instanceof SecretStoreError) return error;
  const what = `${operation} ${ref.name}${version === undefined ? '' : `/${version}`}`;
  const failure = readRestError(error);
  if (failure === undefined) {
    const name = error instanceof Error ? error.name : typeof error;
    return new SecretStoreError(SecretStoreErrorCode.Unavailable, `${what}: ${name}`, { cause: error });
  }
  const disabled = failure.status === 403 && (failure.serviceCode === 'SecretDisabled' || failure.innerCode === 'SecretDisabled');
  const code = disabled ? SecretStoreErrorCode.SecretDisabled : fromRest[failure.kind];
  return new SecretStoreError(code, `${what}: ${describeRestFailure(failure)}`, { cause: error, ...(failure.status === undefined ? {} : { statusCode: failure.status }) });
}
