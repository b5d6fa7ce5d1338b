/**
 * Declared consumers of a secret: the applications that read it and must move
 * to a new version before the old credential is retired (I8). An entry is
 * written in the `rotor-consumers` tag (space-separated) or in the consumer
 * registry, in one of three forms:
 *
 * - `appservice:<resource id>` — an App Service or Function App (a slot too)
 *   using Key Vault references: `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}[/slots/{slot}]`;
 * - `containerapp:<resource id>` — `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{name}`;
 * - `https://…` (or `http://` on a loopback host, for local use) — any
 *   application speaking Rotor's consumer protocol (docs/operations.md).
 */

export const ConsumerKind = {
  AppService: 'appservice',
  ContainerApp: 'containerapp',
  Https: 'https',
} as const;
export type ConsumerKind = (typeof ConsumerKind)[keyof typeof ConsumerKind];

export type ConsumerEntry =
  | {
      readonly kind: 'appservice';
      /** Canonical resource id of the site or slot. */
      readonly resourceId: string;
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly site: string;
      readonly slot?: string;
    }
  | {
      readonly kind: 'containerapp';
      readonly resourceId: string;
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly app: string;
    }
  | {
      readonly kind: 'https';
      /** The consumer's endpoint: no user info, query or fragment (so it is safe to show). */
      readonly url: string;
    };

/** A consumer's text as written in the tag or registry; also its identity (two entries with the same key are one consumer). */
export function formatConsumerEntry(entry: ConsumerEntry): string {
  switch (entry.kind) {
    case 'appservice':
      return `appservice:${entry.resourceId}`;
    case 'containerapp':
      return `containerapp:${entry.resourceId}`;
    case 'https':
      return entry.url;
  }
}

/** Identity of a consumer: resource ids are case-insensitive in ARM, URLs are not. */
export function consumerKey(entry: ConsumerEntry): string {
  return entry.kind === 'https' ? entry.url : formatConsumerEntry(entry).toLowerCase();
}

/** How a consumer is named in a reason, a ledger record, a notification or an API answer. */
export function displayConsumer(entry: ConsumerEntry): string {
  return formatConsumerEntry(entry);
}

/** Longest entry accepted: a tag value holds 512 characters, a registry entry as long as a URL reasonably gets. */
export const MAX_ENTRY_CHARS = 2048;

const guid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const resourceGroup = '[-\\w._()]{1,90}';
const siteId = new RegExp(
  `^/subscriptions/(${guid})/resourceGroups/(${resourceGroup})/providers/Microsoft\\.Web/sites/([A-Za-z0-9][A-Za-z0-9-]{0,59})(?:/slots/([A-Za-z0-9][A-Za-z0-9-]{0,59}))?/?$`,
  'i',
);
const containerAppId = new RegExp(
  `^/subscriptions/(${guid})/resourceGroups/(${resourceGroup})/providers/Microsoft\\.App/containerApps/([a-z0-9][a-z0-9-]{0,30})/?$`,
  'i',
);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type EntryReading = { readonly entry: ConsumerEntry } | { readonly problem: string };

/** One entry, or a problem that quotes it and says what the forms are. */
export function parseConsumerEntry(text: string): EntryReading {
  const raw = text.trim();
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  if (raw === '') return { problem: 'an entry is empty' };
  if (raw.length > MAX_ENTRY_CHARS) return { problem: `"${shown}" is longer than ${MAX_ENTRY_CHARS} characters` };
  const lower = raw.toLowerCase();
  if (lower.startsWith('appservice:')) {
    const match = siteId.exec(raw.slice('appservice:'.length));
    if (match === null) {
      return {
        problem: `"${shown}" is not an App Service resource id; write appservice:/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Web/sites/<name>[/slots/<slot>]`,
      };
    }
    const [, subscriptionId, group, site, slot] = match as unknown as [string, string, string, string, string | undefined];
    const resourceId = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.Web/sites/${site}${slot === undefined ? '' : `/slots/${slot}`}`;
    return { entry: { kind: 'appservice', resourceId, subscriptionId, resourceGroup: group, site, ...(slot === undefined ? {} : { slot }) } };
  }
  if (lower.startsWith('containerapp:')) {
    const match = containerAppId.exec(raw.slice('containerapp:'.length));
    if (match === null) {
      return {
        problem: `"${shown}" is not a Container App resource id; write containerapp:/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.App/containerApps/<name>`,
      };
    }
    const [, subscriptionId, group, app] = match as unknown as [string, string, string, string];
    return {
      entry: {
        kind: 'containerapp',
        resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.App/containerApps/${app}`,
        subscriptionId,
        resourceGroup: group,
        app,
      },
    };
  }
  if (lower.startsWith('https:') || lower.startsWith('http:')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { problem: `"${shown}" is not a URL` };
    }
    if (url.username !== '' || url.password !== '') return { problem: `"${url.origin}${url.pathname}" must not carry a user name or password` };
    if (url.hash !== '') return { problem: `"${url.origin}${url.pathname}" must not carry a #fragment` };
    // Rotor signs its nudges; a key in the query would end up in records and answers that show the entry.
    if (url.search !== '') return { problem: `"${url.origin}${url.pathname}" must not carry a query: Rotor signs its nudges, so the consumer needs no key in the URL` };
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      return { problem: `"${url.origin}${url.pathname}" must be https (plain http is accepted only on localhost or 127.0.0.1, for local use)` };
    }
    return { entry: { kind: 'https', url: url.href } };
  }
  return { problem: `"${shown}" is not a consumer; write appservice:<resource id>, containerapp:<resource id> or an https:// URL` };
}

export type EntriesReading = { readonly entries: readonly ConsumerEntry[] } | { readonly problems: readonly string[] };

/**
 * A list of entries (the tag's space-separated text, or the registry's list):
 * every problem at once, so the operator fixes them in one go; duplicates are
 * folded into one consumer.
 */
export function parseConsumerEntries(texts: readonly string[]): EntriesReading {
  const entries: ConsumerEntry[] = [];
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const text of texts) {
    const reading = parseConsumerEntry(text);
    if ('problem' in reading) {
      problems.push(reading.problem);
      continue;
    }
    const key = consumerKey(reading.entry);
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push(reading.entry);
  }
  return problems.length > 0 ? { problems } : { entries };
}

/** The `rotor-consumers` tag: space-separated entries. */
export function parseConsumersTag(text: string): EntriesReading {
  return parseConsumerEntries(text.split(/\s+/).filter((part) => part !== ''));
}

/** Tag entries and registry entries together, each consumer once (tag order first). */
export function mergeConsumers(...lists: readonly (readonly ConsumerEntry[])[]): ConsumerEntry[] {
  const merged: ConsumerEntry[] = [];
  const seen = new Set<string>();
  for (const entry of lists.flat()) {
    const key = consumerKey(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    merged.push(entry);
  }
  return merged;
}

/** Can this kind of consumer say which version it uses? Those that cannot are given the grace period instead. */
export function reportsAdoption(entry: ConsumerEntry): boolean {
  return entry.kind !== 'containerapp';
}
