import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { StoragePipelineOptions } from '@azure/storage-blob';

/** A blob request that has not answered within this is abandoned, then tried once more. */
export const ledgerRequestTimeoutMs = 4_000;

/**
 * Blob client options for the ledger. The blob SDK sets no client-side
 * timeout: its `tryTimeoutInMs` only becomes the server-side `timeout=` query
 * parameter, so a storage account that accepts a connection and never answers
 * holds a call for ever. Here every try gets a client timeout, so a ledger
 * call fails as `Unavailable` within about 9 s and a step retries through its
 * own scheduled backoff.
 *
 * `additionalPolicies` is not in `StoragePipelineOptions`' type, but the blob
 * client hands its options to core-client's `createClientPipeline`, which
 * takes it; test/integration/app/outage.test.ts fails if that ever changes.
 */
export const ledgerStorageOptions: StoragePipelineOptions = {
  retryOptions: { maxTries: 2, tryTimeoutInMs: ledgerRequestTimeoutMs, retryDelayInMs: 250, maxRetryDelayInMs: 1_000 },
  ...{ additionalPolicies: [{ policy: requestTimeoutPolicy(ledgerRequestTimeoutMs), position: 'perRetry' }] },
};

/** Sets a client-side timeout on each try that has none. */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'rotorRequestTimeout',
    sendRequest: (request, next) => {
      if (request.timeout === 0) request.timeout = timeoutMs;
      return next(request);
    },
  };
}
