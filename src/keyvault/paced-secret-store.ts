import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.js';
import { isPacingError } from '../pacing/errors.js';
import { PacingBucket, type VaultPacer } from '../pacing/vault-pacer.js';
import { systemClock, type Clock, type SecretStore, type SecretVersionInfo } from '../rotation/ports.js';
import { isSecretStoreError, SecretStoreErrorCode, throttledError } from './errors.js';
import type { SecretPages } from './secret-store.js';
import { formatSecretRef, type SecretRef } from './secret-ref.js';

/** Key Vault lists at most 25 items per call: a listing takes one call from the budget per 25 items. */
const LISTING_PAGE = 25;

export interface PacedSecretStoreOptions {
  readonly pacer: VaultPacer;
  /** Vaults left unpaced (`ROTOR_VAULT_BUDGET` says `off`): their calls go straight out. */
  readonly unpaced?: (vaultUrl: string) => boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * A `SecretStore` that spends the vault's budget (`src/pacing`) before each
 * call instead of running into Key Vault's 429.
 *
 * - Each create (`setSecret`) takes one from the vault's create bucket, every
 *   other call (reads, updates, a listing page) one from the other bucket.
 * - Over budget, the call is not made: it fails at once, `Throttled` with the
 *   budget's next slot as `notBefore`, exactly as a 429 does, so the engine
 *   schedules the step for then.
 * - A 429 met anyway (another application on the vault, a lower limit) tells
 *   the pacer, which halves the vault's rate for every instance; it grows back
 *   slowly (AIMD, see `vault-pacer.ts`).
 * - Listings (the sweep, the API; never a step) wait for the budget between
 *   pages instead of failing half way.
 * - When the pacing record itself cannot be read or written, the call goes
 *   out unpaced (logged): pacing protects the budget, it must not stop
 *   rotations; the 429 path still holds.
 */
export function createPacedSecretStore<S extends SecretStore & Partial<SecretPages>>(store: S, options: PacedSecretStoreOptions): S {
  const { pacer } = options;
  const clock = options.clock ?? systemClock;

  /** Takes one call of `bucket` from the vault's budget; `undefined` when granted (or pacing is unavailable). */
  async function take(vaultUrl: string, bucket: PacingBucket): Promise<Date | undefined> {
    if (options.unpaced?.(vaultUrl) === true) return undefined;
    try {
      const grant = await pacer.take(vaultUrl, bucket);
      return grant.granted ? undefined : grant.notBefore;
    } catch (error) {
      if (!isPacingError(error)) throw error;
      options.logger?.warn('pacing unavailable; the call goes out unpaced', { vaultUrl, bucket, error });
      return undefined;
    }
  }

  async function tellThrottled(error: unknown, vaultUrl: string): Promise<void> {
    if (!isSecretStoreError(error, SecretStoreErrorCode.Throttled) || error.statusCode !== 429 || options.unpaced?.(vaultUrl) === true) return;
    try {
      await pacer.throttled(vaultUrl);
    } catch (e) {
      if (!isPacingError(e)) throw e;
      options.logger?.warn('pacing unavailable; a 429 not recorded', { vaultUrl, error: e });
    }
  }

  async function paced<T>(ref: SecretRef, bucket: PacingBucket, what: string, action: () => Promise<T>): Promise<T> {
    const notBefore = await take(ref.vaultUrl, bucket);
    if (notBefore !== undefined) {
      options.logger?.debug('vault budget spent; call put off', { operation: what, secretRef: formatSecretRef(ref), notBefore: notBefore.toISOString() });
      throw throttledError(`${what} ${ref.name}: over Rotor's ${bucket} budget for the vault`, notBefore);
    }
    try {
      return await action();
    } catch (error) {
      await tellThrottled(error, ref.vaultUrl);
      throw error;
    }
  }

  /** For listings: waits until the budget grants a call. */
  async function waitFor(vaultUrl: string): Promise<void> {
    for (;;) {
      const notBefore = await take(vaultUrl, PacingBucket.Other);
      if (notBefore === undefined) return;
      await sleep(Math.max(1, notBefore.getTime() - clock.now().getTime()));
    }
  }

  async function* pacedListing(vaultUrl: string, list: () => AsyncIterable<SecretVersionInfo>): AsyncIterable<SecretVersionInfo> {
    await waitFor(vaultUrl);
    let n = 0;
    try {
      for await (const item of list()) {
        n += 1;
        if (n % LISTING_PAGE === 0) await waitFor(vaultUrl);
        yield item;
      }
    } catch (error) {
      await tellThrottled(error, vaultUrl);
      throw error;
    }
  }

  const wrapped: SecretStore & Partial<SecretPages> = {
    getLatest: (ref) => paced(ref, PacingBucket.Other, 'get', () => store.getLatest(ref)),
    getVersion: (ref, version) => paced(ref, PacingBucket.Other, 'get', () => store.getVersion(ref, version)),
    setSecret: (ref, secret) => paced(ref, PacingBucket.Create, 'set', () => store.setSecret(ref, secret)),
    setEnabled: (ref, version, enabled) => paced(ref, PacingBucket.Other, 'update', () => store.setEnabled(ref, version, enabled)),
    listVersions: (ref) => pacedListing(ref.vaultUrl, () => store.listVersions(ref)),
    listSecrets: (vaultUrl) => pacedListing(vaultUrl, () => store.listSecrets(vaultUrl)),
  };
  const pages = store.listSecretsPage?.bind(store);
  if (pages !== undefined) {
    wrapped.listSecretsPage = (vaultUrl, pageOptions) => paced({ vaultUrl, name: '*' }, PacingBucket.Other, 'list', () => pages(vaultUrl, pageOptions));
  }
  return wrapped as S;
}

/**
 * Runs `work`, and when Key Vault's budget puts it off (`Throttled` with
 * `notBefore`), waits until then and runs it again, up to `maxWaitMs` in all.
 * For callers that are not a step and may wait: the sweep, a batch's starts.
 */
export async function waitingOutThrottle<T>(work: () => Promise<T>, options: { readonly clock?: Clock; readonly maxWaitMs?: number } = {}): Promise<T> {
  const clock = options.clock ?? systemClock;
  const until = clock.now().getTime() + (options.maxWaitMs ?? 60_000);
  for (;;) {
    try {
      return await work();
    } catch (error) {
      const notBefore = isSecretStoreError(error, SecretStoreErrorCode.Throttled) ? error.notBefore : undefined;
      if (notBefore === undefined || notBefore.getTime() > until) throw error;
      await sleep(Math.max(1, notBefore.getTime() - clock.now().getTime()));
    }
  }
}
