import { AzureKeyCredential, EventGridPublisherClient, type SendCloudEventInput } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import type { RotorSettings } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import type { ExpiringItem } from './model.js';

/** The CloudEvents type of an expiry warning. */
export const ExpiryWarningType = 'Rotor.Expiry.Warning';

export interface ExpiryWarning {
  readonly item: ExpiringItem;
  /** The threshold crossed, as an ISO-8601 duration (`P7D`) and in seconds. */
  readonly threshold: string;
  readonly thresholdSeconds: number;
}

/** Sends expiry warnings; answers whether the warning left, so an unsent one is tried again. */
export interface ExpiryWarningPublisher {
  publish(warning: ExpiryWarning): Promise<boolean>;
}

/** The event's data: the radar item (names, ids, dates; never a value) and the threshold. */
export function toWarningEvent(warning: ExpiryWarning, source: string, time: Date): SendCloudEventInput<Record<string, unknown>> {
  const { item } = warning;
  const subject =
    item.kind === 'secret' ? `${new URL(item.vaultUrl).host}/${item.name}` : `applications/${item.appId}/${item.kind === 'app-password' ? 'passwordCredentials' : 'keyCredentials'}/${item.keyId}`;
  return {
    // Stable per (object, version, threshold): a subscriber drops a duplicate by id.
    id: `${item.objectKey}/${item.version}/${warning.threshold}`,
    type: ExpiryWarningType,
    source,
    subject,
    time,
    datacontenttype: 'application/json',
    data: { ...item, threshold: warning.threshold, thresholdSeconds: warning.thresholdSeconds },
  };
}

export function createEventGridWarningPublisher(options: {
  readonly endpoint: string;
  readonly credential: { readonly key: string } | { readonly token: TokenCredential };
  readonly log: Logger;
  readonly source?: string;
  readonly now?: () => Date;
}): ExpiryWarningPublisher {
  const credential = 'key' in options.credential ? new AzureKeyCredential(options.credential.key) : options.credential.token;
  const client = new EventGridPublisherClient(options.endpoint, 'CloudEvent', credential, {
    allowInsecureConnection: new URL(options.endpoint).protocol === 'http:',
    retryOptions: { maxRetries: 3 },
  });
  const now = options.now ?? (() => new Date());
  return {
    async publish(warning) {
      const event = toWarningEvent(warning, options.source ?? '/rotor', now());
      try {
        await client.send([event]);
        return true;
      } catch (error) {
        options.log.warn('expiry warning not sent; the next sweep tries again', { eventId: event.id, error });
        return false;
      }
    },
  };
}

/** No topic configured: warnings go to the log, as rotation notifications do. */
export function createLogWarningPublisher(log: Logger): ExpiryWarningPublisher {
  return {
    publish(warning) {
      const event = toWarningEvent(warning, '/rotor', new Date());
      log.warn('expiry warning (no topic configured)', { type: ExpiryWarningType, subject: event.subject, expiresOn: warning.item.expiresOn, threshold: warning.threshold });
      return Promise.resolve(true);
    },
  };
}

/** The publisher the settings ask for: the notification topic (`ROTOR_NOTIFY_TOPIC_ENDPOINT`), or the log. */
export function createWarningPublisherFromSettings(notifications: RotorSettings['notifications'], credential: () => TokenCredential, log: Logger): ExpiryWarningPublisher {
  if (!notifications.enabled) return createLogWarningPublisher(log);
  return createEventGridWarningPublisher({
    endpoint: notifications.endpoint,
    credential: notifications.key === undefined ? { token: credential() } : { key: notifications.key },
    log,
  });
}
