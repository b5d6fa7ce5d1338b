import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { ManagementApiError, ManagementErrorCode } from './errors.js';
import { createJsonTransport, failForStatus, type ManagementTransportOptions } from './pipeline.js';
import { SecretValue } from '../secrecy/secret-value.js';

export const defaultGraphEndpoint = 'https://graph.microsoft.com';

/** A client secret of an app registration, as Graph lists it (never with its text). */
export interface PasswordCredentialInfo {
  readonly keyId: string;
  readonly displayName?: string;
  /** First three characters of the secret text. */
  readonly hint?: string;
  readonly startDateTime?: string;
  readonly endDateTime?: string;
}

export interface AddedPassword extends PasswordCredentialInfo {
  /** The secret text: returned by `addPassword` once and never again. */
  readonly secretText: SecretValue;
}

export interface ApplicationCredentials {
  /** Object id. */
  readonly id: string;
  /** Application (client) id. */
  readonly appId: string;
  readonly passwordCredentials: readonly PasswordCredentialInfo[];
}

/**
 * The three Graph calls the Entra rotator makes, addressed by application
 * (client) id (`/applications(appId='...')`, Graph v1.0). Needs the
 * application permission `Application.ReadWrite.OwnedBy` with Rotor's identity
 * as an owner of each app it rotates (or `Application.ReadWrite.All`).
 */
export interface GraphApplications {
  getCredentials(appId: string, signal?: AbortSignal): Promise<ApplicationCredentials>;
  addPassword(appId: string, credential: { displayName: string; endDateTime: Date }, signal?: AbortSignal): Promise<AddedPassword>;
  removePassword(appId: string, keyId: string, signal?: AbortSignal): Promise<void>;
}

export interface GraphApplicationsOptions extends ManagementTransportOptions {
  readonly credential: TokenCredential;
  /** `https://graph.microsoft.com` in the public cloud; the stand-in's URL locally. */
  readonly endpoint?: string;
  /** Token scope; default `{endpoint}/.default`. */
  readonly scope?: string;
}

const passwordCredential = z
  .object({
    keyId: z.string().min(1),
    displayName: z.string().nullish(),
    hint: z.string().nullish(),
    startDateTime: z.string().nullish(),
    endDateTime: z.string().nullish(),
  })
  .loose();

const application = z.object({
  id: z.string().min(1),
  appId: z.string().min(1),
  passwordCredentials: z.array(passwordCredential),
});

const addedPassword = passwordCredential.extend({ secretText: z.string().min(1) });

function info(p: z.infer<typeof passwordCredential>): PasswordCredentialInfo {
  // Graph sends null for absent properties; they become absent here.
  return {
    keyId: p.keyId,
    ...(p.displayName === null || p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.hint === null || p.hint === undefined ? {} : { hint: p.hint }),
    ...(p.startDateTime === null || p.startDateTime === undefined ? {} : { startDateTime: p.startDateTime }),
    ...(p.endDateTime === null || p.endDateTime === undefined ? {} : { endDateTime: p.endDateTime }),
  };
}

export function createGraphApplications(options: GraphApplicationsOptions): GraphApplications {
  const endpoint = (options.endpoint ?? defaultGraphEndpoint).replace(/\/+$/, '');
  const transport = createJsonTransport(options, { credential: options.credential, scope: options.scope ?? `${endpoint}/.default` });
  const appUrl = (appId: string) => `${endpoint}/v1.0/applications(appId='${encodeURIComponent(appId)}')`;
  const withSignal = (signal?: AbortSignal) => (signal === undefined ? {} : { signal });

  return {
    async getCredentials(appId, signal) {
      const response = await transport.send({ method: 'GET', url: `${appUrl(appId)}?$select=id,appId,passwordCredentials`, ...withSignal(signal) });
      if (response.status !== 200) failForStatus('GET application', response);
      const parsed = application.safeParse(response.json);
      if (!parsed.success) throw new ManagementApiError(ManagementErrorCode.UnexpectedResponse, 'GET application returned a body that is not an application');
      return { id: parsed.data.id, appId: parsed.data.appId, passwordCredentials: parsed.data.passwordCredentials.map(info) };
    },
    async addPassword(appId, credential, signal) {
      const response = await transport.send({
        method: 'POST',
        url: `${appUrl(appId)}/addPassword`,
        body: { passwordCredential: { displayName: credential.displayName, endDateTime: credential.endDateTime.toISOString() } },
        ...withSignal(signal),
      });
      if (response.status !== 200 && response.status !== 201) failForStatus('addPassword', response);
      const parsed = addedPassword.safeParse(response.json);
      if (!parsed.success) throw new ManagementApiError(ManagementErrorCode.UnexpectedResponse, 'addPassword returned a body that is not a password credential');
      return { ...info(parsed.data), secretText: SecretValue.from(parsed.data.secretText) };
    },
    async removePassword(appId, keyId, signal) {
      const response = await transport.send({ method: 'POST', url: `${appUrl(appId)}/removePassword`, body: { keyId }, ...withSignal(signal) });
      if (response.status !== 204 && response.status !== 200) failForStatus('removePassword', response);
    },
  };
}
