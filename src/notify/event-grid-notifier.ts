import { AzureKeyCredential, EventGridPublisherClient, type SendCloudEventInput } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import type { RotorSettings } from '../config/index.js';
import { formatSecretRef } from '../keyvault/secret-ref.js';
import type { Logger } from '../observability/logger.js';
import type { Notifier, RotationNotification } from '../rotation/ports.js';

/**
 * Rotation notifications as CloudEvents 1.0 on an Event Grid topic. The data
 * holds references (rotation id, secret, versions), a reason and a duration,
 * never a value (I5). Sending is best effort: a failure is logged and the
 * rotation goes on, because a notification must never undo a rotation.
 *
 * In Azure the managed identity needs "EventGrid Data Sender" on the topic;
 * locally the emulator's topic key is used.
 */

export interface NotificationData {
  readonly rotationId: string;
  readonly vaultUrl: string;
  readonly secretName: string;
  readonly status: string;
  readonly versions: RotationNotification['versions'];
  readonly reason?: string;
  readonly durationMs?: number;
  /** Each declared consumer: nudged when, adopted which version when, or what it last reported. */
  readonly consumers?: RotationNotification['consumers'];
}

export interface EventGridNotifierOptions {
  readonly endpoint: string;
  /** A topic key (local emulator) or a token credential (managed identity in Azure). */
  readonly credential: { readonly key: string } | { readonly token: TokenCredential };
  readonly log: Logger;
  /** CloudEvents `source`; defaults to `/rotor`. */
  readonly source?: string;
  /** SDK retries on 5xx/timeouts before giving up (default 3). */
  readonly maxRetries?: number;
}

/** The CloudEvent a notification becomes; its id is stable so a subscriber can drop duplicates. */
export function toCloudEvent(notification: RotationNotification, source: string): SendCloudEventInput<NotificationData> {
  const data: NotificationData = {
    rotationId: notification.rotationId,
    vaultUrl: notification.secret.vaultUrl,
    secretName: notification.secret.name,
    status: notification.status,
    versions: notification.versions,
    ...(notification.reason === undefined ? {} : { reason: notification.reason }),
    ...(notification.durationMs === undefined ? {} : { durationMs: notification.durationMs }),
    ...(notification.consumers === undefined ? {} : { consumers: notification.consumers }),
  };
  return {
    id: `${notification.rotationId}/${notification.type}`,
    type: notification.type,
    source,
    subject: formatSecretRef(notification.secret),
    time: new Date(),
    datacontenttype: 'application/json',
    data,
  };
}

export function createEventGridNotifier(options: EventGridNotifierOptions): Notifier {
  const credential = 'key' in options.credential ? new AzureKeyCredential(options.credential.key) : options.credential.token;
  const client = new EventGridPublisherClient(options.endpoint, 'CloudEvent', credential, {
    // The local emulator's topic is plain http; Azure's is https only.
    allowInsecureConnection: new URL(options.endpoint).protocol === 'http:',
    retryOptions: { maxRetries: options.maxRetries ?? 3 },
  });
  const source = options.source ?? '/rotor';
  return {
    async notify(notification) {
      const fields = { rotationId: notification.rotationId, type: notification.type, secretRef: formatSecretRef(notification.secret) };
      try {
        await client.send([toCloudEvent(notification, source)]);
        options.log.debug('notification sent', fields);
      } catch (error) {
        options.log.warn('notification not sent', { ...fields, error });
      }
    },
  };
}

/** Notifications off (no topic configured): each one is logged instead. */
export function createLogOnlyNotifier(log: Logger): Notifier {
  return {
    notify(notification) {
      log.info('notification (no topic configured)', {
        rotationId: notification.rotationId,
        type: notification.type,
        secretRef: formatSecretRef(notification.secret),
        status: notification.status,
        ...(notification.reason === undefined ? {} : { reason: notification.reason }),
      });
      return Promise.resolve();
    },
  };
}

/**
 * The notifier the settings ask for: the Event Grid topic when
 * `ROTOR_NOTIFY_TOPIC_ENDPOINT` is set (its key locally, the managed identity
 * in Azure), otherwise notifications go to the log.
 */
export function createNotifierFromSettings(
  notifications: RotorSettings['notifications'],
  credential: () => TokenCredential,
  log: Logger,
): Notifier {
  if (!notifications.enabled) return createLogOnlyNotifier(log);
  return createEventGridNotifier({
    endpoint: notifications.endpoint,
    credential: notifications.key === undefined ? { token: credential() } : { key: notifications.key },
    log,
  });
}
