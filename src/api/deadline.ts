import { isServiceBusError } from '@azure/service-bus';
import { isSecretStoreError } from '../keyvault/errors.js';
import { isLedgerError, LedgerErrorCode } from '../ledger/errors.js';

/**
 * How long an API request may wait on Key Vault, the ledger and Service Bus
 * together before it is answered 503. Longer than a health probe's 5 s (a
 * dry run probes), short enough that a client under an outage is told so
 * within seconds instead of holding a connection open.
 */
export const API_DEADLINE_MS = 8_000;
/** What a 503 tells the client to wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

/** The request's work did not finish within its deadline. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

/**
 * `work`, or a `DeadlineExceededError` after `ms`. The work is not cancelled
 * (the ports take no signal); every API action is idempotent, so a client
 * that retries after the 503 finds what the late work did.
 */
export function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A failure that says a dependency is down or slow (try again later), not that the request or Rotor is wrong. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof DeadlineExceededError) return true;
  if (isLedgerError(error)) return error.code === LedgerErrorCode.Unavailable;
  if (isSecretStoreError(error)) return error.transient;
  if (isServiceBusError(error)) return error.retryable;
  return false;
}
