import { createJsonTransport, failForStatus, type ManagementTransportOptions } from './pipeline.js';
import type { SecretValue } from '../secrecy/secret-value.js';

export const defaultAuthorityHost = 'https://login.microsoftonline.com';

export type ClientSecretCheck = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

export interface ClientSecretCheckOptions extends ManagementTransportOptions {
  /** `https://login.microsoftonline.com` in the public cloud; the stand-in's URL locally. */
  readonly authorityHost?: string;
}

/**
 * Does the identity platform accept this client secret? One OAuth 2.0 client
 * credentials request (`POST {authority}/{tenant}/oauth2/v2.0/token`), the same
 * request MSAL sends, without MSAL's token cache (which could answer from a
 * token obtained with an older secret). `invalid_client` and friends mean
 * "refused"; 5xx and transport errors throw, because they say nothing about
 * the secret.
 */
export function createClientSecretCheck(options: ClientSecretCheckOptions = {}) {
  const authority = (options.authorityHost ?? defaultAuthorityHost).replace(/\/+$/, '');
  const transport = createJsonTransport(options);
  return async function checkClientSecret(
    input: { tenantId: string; clientId: string; secret: SecretValue; scope?: string },
    signal?: AbortSignal,
  ): Promise<ClientSecretCheck> {
    const response = await transport.send({
      method: 'POST',
      url: `${authority}/${encodeURIComponent(input.tenantId)}/oauth2/v2.0/token`,
      form: {
        grant_type: 'client_credentials',
        client_id: input.clientId,
        client_secret: input.secret.reveal(),
        scope: input.scope ?? 'https://graph.microsoft.com/.default',
      },
      ...(signal === undefined ? {} : { signal }),
    });
    if (response.status === 200) return { accepted: true };
    if (response.status === 400 || response.status === 401) {
      const body = (typeof response.json === 'object' && response.json !== null ? response.json : {}) as { error?: unknown; error_codes?: unknown };
      const error = typeof body.error === 'string' ? body.error : 'unknown_error';
      const codes = Array.isArray(body.error_codes) ? body.error_codes.filter((c) => typeof c === 'number') : [];
      // error_description is not copied: it is free text; the codes say everything needed.
      return { accepted: false, reason: `token endpoint refused the secret: ${error}${codes.length > 0 ? ` (AADSTS${codes.join(', AADSTS')})` : ''}` };
    }
    return failForStatus('client credentials token request', response);
  };
}

export type CheckClientSecret = ReturnType<typeof createClientSecretCheck>;
