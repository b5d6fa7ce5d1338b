/**
 * ARM resource ids of the resources Rotor rotates keys of, parsed from the
 * `rotor-target` tag. Only the shapes Rotor acts on are accepted, so a typo
 * is a policy problem at `begin`, not a 404 halfway through a rotation.
 */
export interface ArmResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly provider: string;
  readonly type: string;
  readonly name: string;
  /** Canonical form: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{type}/{name}`. */
  readonly id: string;
}

const armId =
  /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourceGroups\/([-\w._()]{1,90})\/providers\/([A-Za-z.]+)\/([A-Za-z]+)\/([-\w.]{1,64})\/?$/;

export function parseArmResourceId(value: string): ArmResourceId | undefined {
  const match = armId.exec(value.trim());
  if (match === null) return undefined;
  const [, subscriptionId, resourceGroup, provider, type, name] = match as unknown as [string, string, string, string, string, string];
  return {
    subscriptionId,
    resourceGroup,
    provider,
    type,
    name,
    id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${provider}/${type}/${name}`,
  };
}

/** A storage account: `.../providers/Microsoft.Storage/storageAccounts/{name}` (name 3-24 lowercase letters and digits). */
export function parseStorageAccountId(value: string): ArmResourceId | undefined {
  const id = parseArmResourceId(value);
  if (id === undefined) return undefined;
  if (id.provider.toLowerCase() !== 'microsoft.storage' || id.type.toLowerCase() !== 'storageaccounts') return undefined;
  if (!/^[a-z0-9]{3,24}$/.test(id.name)) return undefined;
  return { ...id, provider: 'Microsoft.Storage', type: 'storageAccounts', id: canonical(id, 'Microsoft.Storage', 'storageAccounts') };
}

/** An Event Grid custom topic or domain: `.../providers/Microsoft.EventGrid/{topics|domains}/{name}`. */
export function parseEventGridTopicId(value: string): (ArmResourceId & { readonly type: 'topics' | 'domains' }) | undefined {
  const id = parseArmResourceId(value);
  if (id === undefined || id.provider.toLowerCase() !== 'microsoft.eventgrid') return undefined;
  const type = id.type.toLowerCase() === 'topics' ? 'topics' : id.type.toLowerCase() === 'domains' ? 'domains' : undefined;
  if (type === undefined || !/^[a-zA-Z0-9-]{3,50}$/.test(id.name)) return undefined;
  return { ...id, provider: 'Microsoft.EventGrid', type, id: canonical(id, 'Microsoft.EventGrid', type) };
}

function canonical(id: ArmResourceId, provider: string, type: string): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${provider}/${type}/${id.name}`;
}
