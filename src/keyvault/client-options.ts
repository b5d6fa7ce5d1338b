import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { requestTimeoutPolicy } from '../ledger/storage-options.js';

/** A Key Vault request that has not answered within this is abandoned (the store then backs off and retries). */
export const keyVaultRequestTimeoutMs = 4_000;

/**
 * `SecretClient` options for Rotor: the SDK's retries off (the secret store
 * backs off itself, see `keyVaultBackoffMs`) and a timeout on every request,
 * which the SDK does not set by default: without it a vault that stops
 * answering holds a call, and the API request waiting on it, for ever.
 */
export function keyVaultClientOptions(options: { readonly requestTimeoutMs?: number } = {}): SecretClientOptions {
  const policy = requestTimeoutPolicy(options.requestTimeoutMs ?? keyVaultRequestTimeoutMs);
  return { retryOptions: { maxRetries: 0 }, additionalPolicies: [{ policy, position: 'perRetry' }] };
}
