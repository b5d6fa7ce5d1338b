import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import { defaultGraphEndpoint } from '../azure-management/graph-applications.js';
import { ManagementApiError, ManagementErrorCode } from '../azure-management/errors.js';
import { createJsonTransport, failForStatus, type ManagementTransportOptions } from '../azure-management/pipeline.js';

/** One credential of an app registration as the radar needs it: ids, names and dates. */
export interface AppCredentialDates {
  readonly keyId: string;
  readonly displayName?: string;
  readonly startDateTime?: string;
  readonly endDateTime?: string;
}

export interface AppRegistrationCredentials {
  readonly appId: string;
  readonly displayName?: string;
  readonly passwordCredentials: readonly AppCredentialDates[];
  readonly keyCredentials: readonly AppCredentialDates[];
}

/**
 * Reads an app registration's credential dates from Microsoft Graph v1.0
 * (`GET /applications(appId='...')?$select=...`). Reading needs only
 * `Application.Read.All` (or ownership with `Application.ReadWrite.OwnedBy`,
 * which the Entra rotator already asks for); `hint`, `secretText` and `key`
 * are never selected, so no part of a credential is ever read.
 */
export interface AppCredentialReader {
  read(appId: string, signal?: AbortSignal): Promise<AppRegistrationCredentials>;
}

export interface AppCredentialReaderOptions extends ManagementTransportOptions {
  readonly credential: TokenCredential;
  /** `https://graph.microsoft.com` in the public cloud; the stand-in's URL locally. */
  readonly endpoint?: string;
}

const dates = z
  .object({
    keyId: z.string().min(1),
    displayName: z.string().nullish(),
    startDateTime: z.string().nullish(),
    endDateTime: z.string().nullish(),
  })
  .loose();

const applicationSchema = z.object({
  appId: z.string().min(1),
  displayName: z.string().nullish(),
  passwordCredentials: z.array(dates).default([]),
  keyCredentials: z.array(dates).default([]),
});

function datesOf(c: z.infer<typeof dates>): AppCredentialDates {
  return {
    keyId: c.keyId,
    // Graph sends null for absent properties; they become absent here.
    ...(c.displayName === null || c.displayName === undefined ? {} : { displayName: c.displayName }),
    ...(c.startDateTime === null || c.startDateTime === undefined ? {} : { startDateTime: c.startDateTime }),
    ...(c.endDateTime === null || c.endDateTime === undefined ? {} : { endDateTime: c.endDateTime }),
  };
}

export function createAppCredentialReader(options: AppCredentialReaderOptions): AppCredentialReader {
  const endpoint = (options.endpoint ?? defaultGraphEndpoint).replace(/\/+$/, '');
  const transport = createJsonTransport(options, { credential: options.credential, scope: `${endpoint}/.default` });
  return {
    async read(appId, signal) {
      const url = `${endpoint}/v1.0/applications(appId='${encodeURIComponent(appId)}')?$select=appId,displayName,passwordCredentials,keyCredentials`;
      const response = await transport.send({ method: 'GET', url, ...(signal === undefined ? {} : { signal }) });
      if (response.status !== 200) failForStatus(`GET application ${appId}`, response);
      const parsed = applicationSchema.safeParse(response.json);
      if (!parsed.success) throw new ManagementApiError(ManagementErrorCode.UnexpectedResponse, `GET application ${appId} returned a body that is not an application`);
      const app = parsed.data;
      return {
        appId: app.appId,
        ...(app.displayName === null || app.displayName === undefined ? {} : { displayName: app.displayName }),
        passwordCredentials: app.passwordCredentials.map(datesOf),
        keyCredentials: app.keyCredentials.map(datesOf),
      };
    },
  };
}
