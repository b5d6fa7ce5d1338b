import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { EmulatorCredential } from './credential.js';
import type { EmulatorRole } from './roles.js';

/** Where an emulator listens: a started emulator, or the URL and CA file another process printed. */
export interface EmulatorEndpoint {
  readonly url: string;
  readonly caCertPath?: string | undefined;
}

export interface EmulatorSecretClientOptions {
  /** Role of the identity (default `officer`); ignored when `credential` is given. */
  readonly role?: EmulatorRole;
  readonly credential?: TokenCredential;
  /** Anything else a `SecretClient` takes, e.g. `retryOptions: { maxRetries: 0 }` in fault tests. */
  readonly clientOptions?: SecretClientOptions;
}

/**
 * A real `SecretClient` pointed at the emulator. The three options it adds are
 * the ones a local vault needs and Azure never does, which is why production
 * code builds its client elsewhere and never carries them:
 * - `disableChallengeResourceVerification`: the challenge names
 *   `https://vault.azure.net`, which does not match 127.0.0.1;
 * - `tlsOptions.ca`: trust the emulator's self-signed CA (https);
 * - `allowInsecureConnection`: send the token over plain http (http).
 */
export function createEmulatorSecretClient(endpoint: EmulatorEndpoint, options: EmulatorSecretClientOptions = {}): SecretClient {
  const https = endpoint.url.startsWith('https:');
  if (https && endpoint.caCertPath === undefined) {
    throw new Error('createEmulatorSecretClient: an https emulator needs its caCertPath');
  }
  const clientOptions: SecretClientOptions = {
    ...options.clientOptions,
    disableChallengeResourceVerification: true,
    ...(https
      ? { tlsOptions: { ...options.clientOptions?.tlsOptions, ca: readFileSync(endpoint.caCertPath!, 'utf8') } }
      : { allowInsecureConnection: true }),
  };
  return new SecretClient(endpoint.url, options.credential ?? new EmulatorCredential(options.role), clientOptions);
}
