import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { BlobServiceClient, newPipeline, type RequestPolicy, type RequestPolicyFactory, type StoragePipelineOptions } from '@azure/storage-blob';

/** A blob request that has not answered within this is abandoned. */
export const ledgerRequestTimeoutMs = 4_000;

/** Two tries for errors the blob SDK retries (5xx, resets), a short pause between; the step retries through its own scheduled backoff after that. */
export const ledgerStorageOptions: StoragePipelineOptions = {
  retryOptions: { maxTries: 2, tryTimeoutInMs: ledgerRequestTimeoutMs, retryDelayInMs: 250, maxRetryDelayInMs: 1_000 },
};

/**
 * The same blob service with a client-side timeout on every try. The blob
 * SDK sets none: its `tryTimeoutInMs` only becomes the server-side
 * `timeout=` query parameter, so a storage account that accepts a
 * connection and never answers holds a call for ever. With this a ledger
 * call fails as `Unavailable` after 4 s (the blob SDK does not retry an
 * abandoned try).
 *
 * The timeout goes in as a request policy factory, the pipeline's documented
 * way to add a policy (its options take none), ahead of the retry policy,
 * which sends the same request, timeout included, on each try.
 */
export function withRequestTimeouts(client: BlobServiceClient, timeoutMs = ledgerRequestTimeoutMs): BlobServiceClient {
  const pipeline = newPipeline(client.credential, ledgerStorageOptions);
  const timeouts: RequestPolicyFactory = {
    create: (next: RequestPolicy): RequestPolicy => ({
      sendRequest: (request) => {
        if (!(request.timeout > 0)) request.timeout = timeoutMs;
        return next.sendRequest(request);
      },
    }),
  };
  pipeline.factories.push(timeouts);
  return new BlobServiceClient(client.url, pipeline);
}

/** Sets a client-side timeout on each try that has none (for clients whose options take `additionalPolicies`). */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'rotorRequestTimeout',
    sendRequest: (request, next) => {
      if (request.timeout === 0) request.timeout = timeoutMs;
      return next(request);
    },
  };
}
