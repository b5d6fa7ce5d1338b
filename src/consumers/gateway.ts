import type { TokenCredential } from '@azure/identity';
import { createArmClient, type ArmClientOptions } from '../azure-management/arm-client.js';
import type { SecretValue } from '../secrecy/secret-value.js';
import { createConsumerGateway, type ConsumerGateway } from './adapter.js';
import { createAppServiceConsumer } from './adapters/app-service.js';
import { createContainerAppConsumer } from './adapters/container-app.js';
import { createHttpsConsumer } from './adapters/https.js';

export interface ConsumerGatewayOptions {
  /** The managed identity in Azure (ARM calls for App Service and Container Apps). */
  readonly credential: () => TokenCredential;
  /** ARM endpoint; the stand-in's URL locally. */
  readonly armEndpoint?: string;
  /** Trust for a local stand-in's or consumer's self-signed certificate. */
  readonly ca?: string;
  readonly signingKey?: SecretValue;
  /** Per-request limit for https consumers. */
  readonly timeoutMs?: number;
  /** ARM transport tuning (tests: fewer retries). */
  readonly arm?: Omit<ArmClientOptions, 'credential' | 'endpoint' | 'tls'>;
}

/** Every kind of consumer adapter, built from the identity and settings the composition root holds. */
export function createConsumerGatewayFromOptions(options: ConsumerGatewayOptions): ConsumerGateway {
  let arm: ReturnType<typeof createArmClient> | undefined;
  // The credential is only asked for when an ARM consumer is nudged.
  const lazyArm = () =>
    (arm ??= createArmClient({
      ...options.arm,
      credential: options.credential(),
      ...(options.armEndpoint === undefined ? {} : { endpoint: options.armEndpoint }),
      ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
    }));
  const armProxy = {
    postAction: (...args: Parameters<ReturnType<typeof createArmClient>['postAction']>) => lazyArm().postAction(...args),
    getResource: (...args: Parameters<ReturnType<typeof createArmClient>['getResource']>) => lazyArm().getResource(...args),
  };
  return createConsumerGateway({
    appservice: createAppServiceConsumer(armProxy),
    containerapp: createContainerAppConsumer(armProxy),
    https: createHttpsConsumer({
      ...(options.signingKey === undefined ? {} : { signingKey: options.signingKey }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
  });
}
