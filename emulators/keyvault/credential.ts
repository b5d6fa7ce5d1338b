import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { EMULATOR_TOKEN_PREFIX, emulatorRoles, type EmulatorRole } from './roles.js';

/**
 * A `TokenCredential` for the emulator: hands out `rotor-emulator.<role>`
 * tokens and records what the client asked for (scopes, tenant), so a test
 * can check the challenge was followed. Never used against Azure.
 */
export class EmulatorCredential implements TokenCredential {
  readonly requests: Array<{ scopes: string[]; tenantId: string | undefined }> = [];

  constructor(readonly role: EmulatorRole = emulatorRoles.officer) {}

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.requests.push({ scopes: typeof scopes === 'string' ? [scopes] : [...scopes], tenantId: options?.tenantId });
    return Promise.resolve({
      token: `${EMULATOR_TOKEN_PREFIX}${this.role}`,
      expiresOnTimestamp: Date.now() + 60 * 60 * 1000,
      tokenType: 'Bearer',
    });
  }
}
