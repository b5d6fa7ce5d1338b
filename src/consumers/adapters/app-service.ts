import { z } from 'zod';
import type { ArmClient } from '../../azure-management/arm-client.js';
import { isManagementApiError, ManagementErrorCode, type ManagementApiError } from '../../azure-management/errors.js';
import type { AdoptionReport, ConsumerAdapter } from '../adapter.js';
import type { ConsumerEntry } from '../entries.js';
import { ConsumerError, ConsumerErrorCode } from '../errors.js';

/**
 * App Service and Function Apps (slots too) that read the secret through Key
 * Vault references. Needs, on the site: `Microsoft.Web/sites/config/read`
 * (`.../slots/config/read`) and the refresh action
 * (`Microsoft.Web/sites/config/configreferences/appsettings/refresh/action`);
 * infra/ grants exactly these as a custom role per opted-in resource group.
 *
 * - nudge: `POST {site}/config/configreferences/appsettings/refresh` — App
 *   Service re-resolves every reference now instead of within 24 hours.
 * - adoption: `GET {site}/config/configreferences/appsettings` lists each
 *   reference (`KeyVaultReferenceResource`, properties `ApiKVReference`):
 *   `status` (`Resolved`, `SecretNotFound`, ...), `secretVersion` (the version
 *   *pinned in the reference*, empty when it follows the latest) and
 *   `activeVersion` (the version the app *resolved*). Adopted means: every
 *   reference to this secret is `Resolved` with `activeVersion` = the promoted
 *   version. Where an api-version answers without `activeVersion`, `Resolved`
 *   after the refresh is taken as adopted and the detail says so.
 */
export const APP_SERVICE_API_VERSION = '2024-04-01';

const referenceSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  properties: z
    .object({
      reference: z.string().nullish(),
      status: z.string().nullish(),
      details: z.string().nullish(),
      vaultName: z.string().nullish(),
      secretName: z.string().nullish(),
      secretVersion: z.string().nullish(),
      activeVersion: z.string().nullish(),
    })
    .optional(),
});
const referencesSchema = z.object({ value: z.array(z.unknown()) });

type AppServiceEntry = Extract<ConsumerEntry, { kind: 'appservice' }>;

/** `kv-app` of `https://kv-app.vault.azure.net`: what `vaultName` holds. */
function vaultNameOf(vaultUrl: string): string {
  return new URL(vaultUrl).hostname.split('.')[0] ?? '';
}

function settingName(reference: z.infer<typeof referenceSchema>): string {
  return reference.name ?? reference.id?.split('/').pop() ?? '(unnamed setting)';
}

/** A short, value-free text from the service (its `details` never carry the secret, but may be long). */
function clip(text: string | null | undefined, max = 160): string {
  if (text === undefined || text === null) return '';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

export function translateManagementError(error: unknown, consumer: string, what: string): ConsumerError {
  if (!isManagementApiError(error)) {
    return new ConsumerError(ConsumerErrorCode.Unavailable, `${consumer}: ${what} failed`, { cause: error });
  }
  const e: ManagementApiError = error;
  const retry = e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs };
  switch (e.code) {
    case ManagementErrorCode.Network:
    case ManagementErrorCode.ServiceError:
      return new ConsumerError(ConsumerErrorCode.Unavailable, `${consumer}: ${what} got no usable answer (${e.code})`, { cause: e, ...retry });
    case ManagementErrorCode.Throttled:
      return new ConsumerError(ConsumerErrorCode.Throttled, `${consumer}: ${what} was throttled`, { cause: e, ...retry });
    case ManagementErrorCode.Unauthenticated:
    case ManagementErrorCode.Forbidden:
      return new ConsumerError(ConsumerErrorCode.Forbidden, `${consumer}: ${what} was refused (${e.serviceCode ?? e.status ?? e.code}); grant Rotor the consumer role on the app's resource group`, { cause: e });
    case ManagementErrorCode.NotFound:
      return new ConsumerError(ConsumerErrorCode.NotFound, `${consumer}: ${what} found no such resource`, { cause: e });
    case ManagementErrorCode.Rejected:
    case ManagementErrorCode.UnexpectedResponse:
      return new ConsumerError(ConsumerErrorCode.Rejected, `${consumer}: ${what} was rejected (${e.serviceCode ?? e.status ?? e.code})`, { cause: e });
  }
}

export function createAppServiceConsumer(arm: ArmClient): ConsumerAdapter<AppServiceEntry> {
  return {
    async nudge(entry, context) {
      const name = `appservice ${entry.site}${entry.slot === undefined ? '' : `/${entry.slot}`}`;
      try {
        await arm.postAction(entry.resourceId, 'config/configreferences/appsettings/refresh', APP_SERVICE_API_VERSION, undefined, context.signal);
      } catch (error) {
        throw translateManagementError(error, name, 'the Key Vault reference refresh');
      }
      return { detail: 'Key Vault references refresh requested' };
    },

    async readAdoption(entry, context): Promise<AdoptionReport> {
      const name = `appservice ${entry.site}${entry.slot === undefined ? '' : `/${entry.slot}`}`;
      let body: unknown;
      try {
        body = await arm.getResource(`${entry.resourceId}/config/configreferences/appsettings`, APP_SERVICE_API_VERSION, context.signal);
      } catch (error) {
        throw translateManagementError(error, name, 'reading the Key Vault references');
      }
      const list = referencesSchema.safeParse(body);
      if (!list.success) throw new ConsumerError(ConsumerErrorCode.Rejected, `${name}: the Key Vault reference list is not the documented shape`);
      const vaultName = vaultNameOf(context.secret.vaultUrl).toLowerCase();
      const vaultHost = new URL(context.secret.vaultUrl).host.toLowerCase();
      const ours = list.data.value
        .map((item) => referenceSchema.safeParse(item))
        .filter((r) => r.success)
        .map((r) => r.data)
        .filter((r) => {
          const p = r.properties;
          if (p?.secretName?.toLowerCase() !== context.secret.name.toLowerCase()) return false;
          return p.vaultName?.toLowerCase() === vaultName || (p.reference ?? '').toLowerCase().includes(vaultHost);
        });
      if (ours.length === 0) {
        return { state: 'behind', detail: `no app setting references ${context.secret.name} in this vault` };
      }
      let unverified = false;
      for (const reference of ours) {
        const p = reference.properties ?? {};
        const setting = settingName(reference);
        if (p.secretVersion !== undefined && p.secretVersion !== null && p.secretVersion !== '' && p.secretVersion !== context.version) {
          return { state: 'behind', version: p.secretVersion, detail: `setting ${setting} is pinned to version ${p.secretVersion}` };
        }
        if (p.status !== 'Resolved') {
          const details = clip(p.details);
          return { state: 'behind', detail: `setting ${setting} is ${p.status ?? 'without status'}${details === '' ? '' : `: ${details}`}` };
        }
        if (p.activeVersion === undefined || p.activeVersion === null || p.activeVersion === '') {
          unverified = true;
          continue;
        }
        if (p.activeVersion !== context.version) {
          return { state: 'behind', version: p.activeVersion, detail: `setting ${setting} resolved version ${p.activeVersion}` };
        }
      }
      return {
        state: 'adopted',
        version: context.version,
        detail: unverified
          ? `${ours.length} reference(s) Resolved after the refresh (the service named no resolved version)`
          : `${ours.length} reference(s) resolved to ${context.version}`,
      };
    },
  };
}
