import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * Stands in for `DefaultAzureCredential`: hands out an unsigned JWT-shaped
 * token for the scope asked, and remembers the scopes, so a test can check
 * which audience the client asked for.
 */
export function createFakeCredential(): TokenCredential & { readonly scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken(scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      const list = Array.isArray(scope) ? scope : [scope];
      scopes.push(...list);
      const payload = Buffer.from(JSON.stringify({ aud: list[0]?.replace(/\/\.default$/, ''), oid: 'rotor-test' })).toString('base64url');
      return Promise.resolve({ token: `eyJhbGciOiJub25lIn0.${payload}.`, expiresOnTimestamp: Date.now() + 3600_000 });
    },
  };
}
