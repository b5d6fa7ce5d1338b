import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Rotor } from '../app/compose.js';
import { createAppCredentialReader } from './graph-credentials.js';
import { radarFromRotor, type RadarServices } from './services.js';

/**
 * The radar of the local stack: app registrations are read from the Graph
 * stand-in (its URL and self-signed CA) with a local token, as the Entra
 * rotator there reads them; everything else as `radarFromRotor` builds it.
 */
export function radarOnGraphStandIn(rotor: Rotor, standIn: { readonly graphEndpoint: string; readonly ca: string }): RadarServices {
  const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'rotor-local-identity', expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
  return radarFromRotor(rotor, {
    applications: createAppCredentialReader({ credential, endpoint: standIn.graphEndpoint, tls: { ca: standIn.ca }, retryDelayMs: 50 }),
  });
}
