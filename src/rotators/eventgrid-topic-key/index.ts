import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import { readRestError, RestFailureKind } from '../../azure/rest-error.js';
import { z } from 'zod';
import { createArmClient, type ArmClientOptions } from '../../azure-management/arm-client.js';
import { createEventGridKeyApi, type KeyPairApi } from '../../azure-management/key-pairs.js';
import { parseEventGridTopicId, type ArmResourceId } from '../../azure-management/resource-id.js';
import type { SecretValue } from '../../secrecy/secret-value.js';
import { createKeyPairRotator, type KeyPairTarget } from '../alternating-keys.js';
import { problemsOf, readTags } from '../policy-tags.js';
import type { Rotator } from '../../rotation/rotator.js';

export const eventGridTopicKeyKind = 'eventgrid-topic-key';

/** Event type of the self-test event; subscribers that must not see it filter on it. */
export const selfTestEventType = 'Rotor.KeyRotation.SelfTest';

export interface EventGridTopicKeyRotatorDeps {
  /** `DefaultAzureCredential` in Azure; a fake in tests. */
  readonly credential: TokenCredential;
  /** ARM endpoint; default `https://management.azure.com`. */
  readonly armEndpoint?: string;
  /** Transport knobs (TLS trust for a local stand-in, retries, polling); the TLS trust also applies to the self-test publish. */
  readonly transport?: Omit<ArmClientOptions, 'credential' | 'endpoint'>;
  /** Replaces the ARM key API (tests of failure paths); default: ARM via `credential`. */
  readonly api?: KeyPairApi;
}

interface TopicKeyConfig extends KeyPairTarget {
  readonly resource: ArmResourceId & { readonly type: 'topics' | 'domains' };
  readonly endpoint?: string;
  readonly schema: 'EventGrid' | 'CloudEvent';
}

const tagShape = {
  'rotor-eventgrid-endpoint': z
    .url({ protocol: /^https?$/, error: 'must be the topic endpoint URL, such as https://{topic}.{region}-1.eventgrid.azure.net/api/events' })
    .optional(),
  'rotor-eventgrid-schema': z.enum(['EventGrid', 'CloudEvent'], { error: 'must be "EventGrid" or "CloudEvent" (the topic input schema)' }).default('EventGrid'),
};

/**
 * Rotates the access keys of an Event Grid custom topic or domain, alternating
 * key1/key2 (ARM `regenerateKey`, a long-running operation, then `listKeys`).
 * The secret holds the key (what `aeg-sas-key` carries).
 *
 * Self-test: with `rotor-eventgrid-endpoint` (topics only) one event of type
 * `Rotor.KeyRotation.SelfTest` is published with the candidate key — subscribers
 * see it; without it, the check is that the provider lists the key.
 *
 * Permissions: `Microsoft.EventGrid/topics/listKeys/action` and
 * `Microsoft.EventGrid/topics/regenerateKey/action` (domains: the same under
 * `domains/`) on the topic — the built-in "EventGrid Contributor" role
 * (1e241071-0855-49ea-94dc-649edcd759de) has them; a custom role with exactly
 * these two actions is the least privilege. Publishing uses the key itself.
 */
export function createEventGridTopicKeyRotator(deps: EventGridTopicKeyRotatorDeps): Rotator<TopicKeyConfig> {
  const api =
    deps.api ?? createEventGridKeyApi(createArmClient({ ...deps.transport, credential: deps.credential, ...(deps.armEndpoint === undefined ? {} : { endpoint: deps.armEndpoint }) }));
  const tls = deps.transport?.tls;

  return createKeyPairRotator<TopicKeyConfig>({
    kind: eventGridTopicKeyKind,
    api,
    parse(policy) {
      const resource = policy.target === undefined ? undefined : parseEventGridTopicId(policy.target);
      const tags = readTags(tagShape, policy.tags);
      const problems = [
        ...(resource === undefined
          ? [{ tag: 'rotor-target', message: 'must be an Event Grid topic or domain resource id: /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.EventGrid/topics/{name}' }]
          : []),
        ...problemsOf(tags),
      ];
      if (resource !== undefined && tags.ok && resource.type === 'domains' && tags.value['rotor-eventgrid-endpoint'] !== undefined) {
        // Publishing to a domain creates domain topics on the fly: not something a self-test may do.
        problems.push({ tag: 'rotor-eventgrid-endpoint', message: 'is only used for topics; a domain is checked by listing its keys' });
      }
      if (resource === undefined || !tags.ok || problems.length > 0) return { ok: false, problems };
      const endpoint = tags.value['rotor-eventgrid-endpoint'];
      return {
        ok: true,
        config: {
          resource,
          label: `Event Grid ${resource.type === 'topics' ? 'topic' : 'domain'} ${resource.name}`,
          schema: tags.value['rotor-eventgrid-schema'],
          ...(endpoint === undefined ? {} : { endpoint }),
        },
      };
    },
    format: (_config, key) => key,
    extractKey: (_config, value) => (value.reveal().trim() === '' ? undefined : value),
    async selfTest(context, key: SecretValue) {
      const { config } = context;
      if (config.endpoint === undefined) {
        const keys = await api.listKeys(config.resource, context.signal);
        return keys.key1.equals(key) || keys.key2.equals(key) ? { ok: true } : { ok: false, reason: `${config.label} does not list this key` };
      }
      const options = { retryOptions: { maxRetries: 1 }, ...(tls === undefined ? {} : { tlsOptions: { ca: tls.ca } }) };
      const sendOptions = context.signal === undefined ? {} : { abortSignal: context.signal };
      const data = { rotationId: context.rotationId, secret: context.secret.name };
      try {
        if (config.schema === 'CloudEvent') {
          const client = new EventGridPublisherClient(config.endpoint, 'CloudEvent', new AzureKeyCredential(key.reveal()), options);
          await client.send([{ type: selfTestEventType, source: `/rotor/${context.secret.name}`, data }], sendOptions);
        } else {
          const client = new EventGridPublisherClient(config.endpoint, 'EventGrid', new AzureKeyCredential(key.reveal()), options);
          await client.send([{ eventType: selfTestEventType, subject: `rotor/${context.secret.name}`, dataVersion: '1.0', data }], sendOptions);
        }
        return { ok: true };
      } catch (error) {
        const failure = readRestError(error);
        if (failure?.kind === RestFailureKind.PermissionDenied) {
          return { ok: false, reason: `${config.label} refused a publish with this key (${failure.status ?? '?'})` };
        }
        throw error;
      }
    },
  });
}
