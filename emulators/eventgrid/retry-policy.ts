/**
 * Event Grid's delivery rules for webhooks, from "Event Grid message delivery
 * and retry" (learn.microsoft.com/azure/event-grid/delivery-and-retry).
 */

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

/** Waits before the 2nd, 3rd, ... attempt; after the list, every 12 hours until the TTL ends. */
export const retrySchedule = [
  10 * second,
  30 * second,
  1 * minute,
  5 * minute,
  10 * minute,
  30 * minute,
  1 * hour,
  3 * hour,
  6 * hour,
] as const;
export const retryIntervalAfterSchedule = 12 * hour;

/** The service waits this long for an endpoint's answer before counting the attempt failed. */
export const defaultEndpointTimeoutMs = 30 * second;

/** How one delivery attempt ended, as the dead-letter record's `lastDeliveryOutcome` names it. */
export const deliveryOutcomes = {
  Delivered: 'Delivered',
  BadRequest: 'BadRequest',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  PayloadTooLarge: 'PayloadTooLarge',
  Busy: 'Busy',
  TimedOut: 'TimedOut',
  SocketError: 'SocketError',
  GenericError: 'GenericError',
  Aborted: 'Aborted',
} as const;
export type DeliveryOutcome = (typeof deliveryOutcomes)[keyof typeof deliveryOutcomes];

/** Only these mean "delivered"; 200-204, not any 2xx (206 is a failure). */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status <= 204;
}

/** Webhook answers the service never retries: the event is dead-lettered at once. */
const nonRetriableStatuses = new Set([400, 401, 403, 413]);

export function isRetriableStatus(status: number): boolean {
  return !isSuccessStatus(status) && !nonRetriableStatuses.has(status);
}

export function outcomeOfStatus(status: number): DeliveryOutcome {
  if (isSuccessStatus(status)) return deliveryOutcomes.Delivered;
  switch (status) {
    case 400:
      return deliveryOutcomes.BadRequest;
    case 401:
      return deliveryOutcomes.Unauthorized;
    case 403:
      return deliveryOutcomes.Forbidden;
    case 404:
      return deliveryOutcomes.NotFound;
    case 408:
      return deliveryOutcomes.TimedOut;
    case 413:
      return deliveryOutcomes.PayloadTooLarge;
    case 429:
    case 503:
      return deliveryOutcomes.Busy;
    default:
      return deliveryOutcomes.GenericError;
  }
}

/** Some answers carry a longer minimum wait than the schedule ("retry after 2 minutes or more"). */
function minimumWaitFor(status: number | undefined): number {
  if (status === 408) return 2 * minute;
  if (status === 503) return 30 * second;
  return 0;
}

/**
 * Unscaled wait before the next attempt, given how many attempts were made so
 * far (1 after the first failure) and the last HTTP status, if any.
 */
export function retryDelayMs(attemptsMade: number, lastStatus: number | undefined): number {
  const scheduled = retrySchedule[attemptsMade - 1] ?? retryIntervalAfterSchedule;
  return Math.max(scheduled, minimumWaitFor(lastStatus));
}
