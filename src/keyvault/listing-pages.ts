import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pipeline, PipelinePolicy } from '@azure/core-rest-pipeline';
import type { SecretClient, SecretProperties } from '@azure/keyvault-secrets';

/**
 * One page of Key Vault's secret listing, with the token of the next one.
 *
 * `@azure/keyvault-secrets` 4.11 resumes a listing from a continuation token
 * (`byPage({ continuationToken })`) but maps each page into a new array and
 * drops the page's own token. Key Vault sends it as `nextLink` in the body; a
 * policy on the client's pipeline reads it there, for the listing that asked
 * (async context), so that one API page costs one listing call.
 */

const POLICY_NAME = 'rotorListingNextLink';
const pageContext = new AsyncLocalStorage<{ nextLink?: string }>();

const nextLinkPolicy: PipelinePolicy = {
  name: POLICY_NAME,
  async sendRequest(request, next) {
    const response = await next(request);
    const slot = pageContext.getStore();
    if (slot !== undefined && response.status === 200 && response.bodyAsText !== undefined && response.bodyAsText !== null) {
      try {
        const link = (JSON.parse(response.bodyAsText) as { nextLink?: unknown }).nextLink;
        slot.nextLink = typeof link === 'string' && link !== '' ? link : undefined;
      } catch {
        slot.nextLink = undefined;
      }
    }
    return response;
  },
};

/** The client's pipeline: a private field of `SecretClient` (pinned SDK); `undefined` if a later SDK moves it. */
function pipelineOf(client: SecretClient): Pipeline | undefined {
  const pipeline = (client as unknown as { client?: { pipeline?: Pipeline } }).client?.pipeline;
  return typeof pipeline?.addPolicy === 'function' ? pipeline : undefined;
}

/** Lets `listSecretsPage` learn the next page's token from this client; false when it cannot. */
export function enableListingPages(client: SecretClient): boolean {
  const pipeline = pipelineOf(client);
  if (pipeline === undefined) return false;
  if (!pipeline.getOrderedPolicies().some((p) => p.name === POLICY_NAME)) pipeline.addPolicy(nextLinkPolicy);
  return true;
}

export interface ListingPage {
  readonly items: readonly SecretProperties[];
  /** Key Vault's `nextLink`; absent on the last page. */
  readonly continuationToken?: string;
}

/** One listing call: the page at `continuationToken` (or the first), at most `maxPageSize` secrets (Key Vault caps it at 25). */
export async function listSecretsPage(client: SecretClient, options: { readonly continuationToken?: string; readonly maxPageSize: number }): Promise<ListingPage> {
  const slot: { nextLink?: string } = {};
  return pageContext.run(slot, async () => {
    const pages = client.listPropertiesOfSecrets().byPage({
      maxPageSize: options.maxPageSize,
      ...(options.continuationToken === undefined ? {} : { continuationToken: options.continuationToken }),
    });
    const first = await pages.next();
    const items = first.done === true ? [] : first.value;
    return slot.nextLink === undefined ? { items } : { items, continuationToken: slot.nextLink };
  });
}

/**
 * A token is a URL the client will call with its credential: only one on the
 * vault's own origin, on the listing path, is followed.
 */
export function isListingLinkOf(vaultUrl: string, link: string): boolean {
  try {
    const url = new URL(link);
    return url.origin === new URL(vaultUrl).origin && /^\/secrets\/?$/.test(url.pathname) && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
