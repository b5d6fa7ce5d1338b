import type { TokenCredential } from '@azure/identity';
import { createAzureRotators } from '../rotators/azure-rotators.js';
import { createPostgresRotator } from '../rotators/postgres/index.js';
import { createRandomRotator } from '../rotators/random/random-rotator.js';
import type { Rotator } from '../rotation/rotator.js';
import { createWebhookRotator } from '../rotators/webhook/index.js';

/** The rotators this build ships, as Azure runs them; the local stack passes its own list to `composeRotor`. */
export function builtInRotators(deps: { readonly credential: TokenCredential }): Rotator[] {
  return [
    createRandomRotator(),
    createPostgresRotator({ tokenSource: deps.credential }),
    createWebhookRotator(),
    ...createAzureRotators({ credential: deps.credential }),
  ];
}
