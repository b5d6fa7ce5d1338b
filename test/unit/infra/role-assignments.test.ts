import { describe, expect, it } from 'vitest';
import { literal, resolve, type BicepFile, type BicepResource } from '../../helpers/bicep.js';
import { allResources, fileAt, readInfra } from './infra-files.js';

// Least privilege, checked: every role assignment uses a role from this table
// (Azure built-in role GUIDs, the same in every subscription), names it in a
// comment, is scoped to the one resource type the table allows, and goes to
// the identity the table says. A new role, a broader scope or a missing scope
// fails here until the table (and docs/deploy.md) say why.

type Principal = 'rotorPrincipalId' | 'eventGridPrincipalId';

interface Role {
  readonly name: string;
  /** Built-in roles: the GUID. Custom roles: the symbol of their roleDefinitions resource (see `customRoles`). */
  readonly guid: string;
  /** The narrowest scope that works: the type of the resource the assignment is scoped to. */
  readonly scope: string;
  readonly principal: Principal;
  /** main.bicep parameter (comma-separated ids) that turns this role on; absent: always granted. */
  readonly optIn?: string;
}

const roles: readonly Role[] = [
  { name: 'Key Vault Secrets Officer', guid: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7', scope: 'Microsoft.KeyVault/vaults', principal: 'rotorPrincipalId' },
  // Data Owner, not Sender + Receiver: target-based scaling on Flex needs its Manage right (issue #14, item 2).
  { name: 'Azure Service Bus Data Owner', guid: '090c5cfd-751d-490a-894a-3ce6f1109419', scope: 'Microsoft.ServiceBus/namespaces/queues', principal: 'rotorPrincipalId' },
  { name: 'Storage Blob Data Owner', guid: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', scope: 'Microsoft.Storage/storageAccounts', principal: 'rotorPrincipalId' },
  { name: 'EventGrid Data Sender', guid: 'd5a91429-5739-47e2-a06b-3470a27159e7', scope: 'Microsoft.EventGrid/topics', principal: 'rotorPrincipalId' },
  { name: 'Monitoring Metrics Publisher', guid: '3913510d-42f4-4e42-8a64-420c390055eb', scope: 'Microsoft.Insights/components', principal: 'rotorPrincipalId' },
  {
    name: 'Storage Blob Data Contributor',
    guid: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
    scope: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    principal: 'eventGridPrincipalId',
  },
  {
    name: 'Storage Account Key Operator Service Role',
    guid: '81a9662b-bebf-436f-a333-f67b29880f12',
    scope: 'Microsoft.Storage/storageAccounts',
    principal: 'rotorPrincipalId',
    optIn: 'keyOperatorStorageAccountIds',
  },
  {
    name: 'EventGrid Contributor',
    guid: '1e241071-0855-49ea-94dc-649edcd759de',
    scope: 'Microsoft.EventGrid/topics',
    principal: 'rotorPrincipalId',
    optIn: 'eventGridContributorTopicIds',
  },
  {
    // Custom, defined beside its assignment and assignable only in the consumers' resource group.
    name: 'Rotor Consumer Refresher (custom, this resource group)',
    guid: 'refresher',
    scope: 'resourceGroup',
    principal: 'rotorPrincipalId',
    optIn: 'consumerResourceGroupIds',
  },
];

/** Custom roles: the file that defines each, and exactly the actions it may hold (no wildcards, no data actions). */
const customRoles: Record<string, { readonly file: string; readonly actions: readonly string[] }> = {
  refresher: {
    file: 'infra/modules/roles/consumer-refresher.bicep',
    actions: [
      'Microsoft.Web/sites/read',
      'Microsoft.Web/sites/config/read',
      'Microsoft.Web/sites/slots/config/read',
      'Microsoft.Web/sites/config/configreferences/appsettings/refresh/action',
      'Microsoft.Web/sites/slots/config/configreferences/appsettings/refresh/action',
      'Microsoft.App/containerApps/revisions/read',
      'Microsoft.App/containerApps/revisions/restart/action',
    ],
  },
};

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const roleFiles = /^infra\/modules\/(role-assignments|roles\/[\w-]+)\.bicep$/;

const files = readInfra();
const main = fileAt(files, 'infra/main.bicep');
const assignments = allResources(files).filter(({ resource }) => resource.type === 'Microsoft.Authorization/roleAssignments');

function roleOf(resource: BicepResource): Role | undefined {
  const custom = /^(\w+)\.id$/.exec(resource.body.get('properties.roleDefinitionId') ?? '')?.[1];
  if (custom !== undefined) return customRoles[custom] === undefined ? undefined : roles.find((r) => r.guid === custom);
  const guids = resource.body.get('properties.roleDefinitionId')?.match(GUID) ?? [];
  return guids.length === 1 ? roles.find((r) => r.guid === guids[0]?.toLowerCase()) : undefined;
}

/** The raw source line of a resource's roleDefinitionId, comment included. */
function roleDefinitionLine(file: BicepFile, resource: BicepResource): string {
  const lines = file.raw.split('\n');
  return lines.slice(resource.line - 1).find((l) => /^\s*roleDefinitionId\s*:/.test(l)) ?? '';
}

const described = assignments.map(({ file, resource }) => [`${file.path}: ${resource.symbol}`, file, resource] as const);

describe('role assignments', () => {
  it('exist (the reader found them)', () => {
    expect(assignments.length).toBeGreaterThanOrEqual(roles.length);
  });

  it.each(described)('%s uses one of the documented roles', (_, file, resource) => {
    const role = roleOf(resource);
    expect(role, `roleDefinitionId ${resource.body.get('properties.roleDefinitionId')}`).toBeDefined();
    if (role?.scope === 'resourceGroup') {
      expect(customRoles[role.guid]?.file).toBe(file.path);
      return;
    }
    expect(resource.body.get('properties.roleDefinitionId')).toMatch(
      /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', '[0-9a-f-]{36}'\)$/,
    );
  });

  it.each(described)('%s names its role in a comment beside the GUID', (_, file, resource) => {
    const line = roleDefinitionLine(file, resource);

    expect(line).toContain(`// ${roleOf(resource)?.name ?? '(unknown role)'}`);
  });

  it.each(described)('%s is scoped to the narrowest resource its role allows', (_, file, resource) => {
    const role = roleOf(resource)!;
    const scope = resource.body.get('scope');
    const target = file.resources.find((r) => r.symbol === scope);
    if (role.scope === 'resourceGroup') {
      // A custom role granted on the group it may only be assigned in (its assignableScopes).
      expect(scope).toBeUndefined();
      expect(file.raw).toMatch(/assignableScopes:\s*\[\s*resourceGroup\(\)\.id\s*\]/);
      return;
    }

    expect(scope, 'a role assignment without scope applies to the whole resource group').toBeDefined();
    expect(target?.type, `scope ${scope}`).toBe(role.scope);
  });

  it.each(described)('%s goes to the identity the table names, as a service principal', (_, _file, resource) => {
    const role = roleOf(resource)!;

    expect(resource.body.get('properties.principalId')).toBe(role.principal);
    expect(literal(resource.body.get('properties.principalType'))).toBe('ServicePrincipal');
  });

  it.each(described)('%s has a deterministic name from scope, principal and role', (_, _file, resource) => {
    const role = roleOf(resource)!;
    if (role.scope === 'resourceGroup') {
      expect(resource.body.get('name')).toBe(`guid(resourceGroup().id, ${role.principal}, roleName)`);
      return;
    }

    expect(resource.body.get('name')).toBe(`guid(${resource.body.get('scope')}.id, ${role.principal}, '${role.guid}')`);
  });

  it.each(roles.map((r) => [r.name, r] as const))('%s is granted exactly once in the templates', (_, role) => {
    expect(assignments.filter(({ resource }) => roleOf(resource) === role)).toHaveLength(1);
  });

  it('all live in the role-assignments module and its scoped role modules', () => {
    expect(assignments.map(({ file }) => file.path).filter((path) => !roleFiles.test(path))).toEqual([]);
  });

  it('define only the custom roles of the table, each with exactly its actions and no data actions', () => {
    const definitions = allResources(files).filter(({ resource }) => resource.type === 'Microsoft.Authorization/roleDefinitions');

    expect(definitions.map(({ file, resource }) => `${file.path}: ${resource.symbol}`)).toEqual(
      Object.entries(customRoles).map(([symbol, role]) => `${role.file}: ${symbol}`),
    );
    for (const [, role] of Object.entries(customRoles)) {
      const raw = fileAt(files, role.file).raw;
      const actions = [...raw.matchAll(/^\s*'(Microsoft\.[^']+)'\s*$/gm)].map((m) => m[1]);
      expect(actions).toEqual(role.actions);
      expect(raw).not.toMatch(/dataActions/i);
      expect(raw).not.toMatch(/'[^']*\*[^']*'/);
    }
  });
});

describe('roles granted on resources outside Rotor\'s resource group', () => {
  const hub = fileAt(files, 'infra/modules/role-assignments.bicep');
  const scoped = assignments.filter(({ file }) => file.path.startsWith('infra/modules/roles/'));

  it.each(scoped.map(({ file, resource }) => [file.path, roleOf(resource)!] as const))(
    '%s is deployed once per listed resource, into that resource\'s group',
    (path, role) => {
      const module = hub.modules.find((m) => `infra/modules/${m.path}` === path);

      expect(module, `role-assignments.bicep deploys ${path}`).toBeDefined();
      expect(module!.loop).toMatch(/^id in \w+$/);
      expect(module!.body.get('scope')).toBe("resourceGroup(split(id, '/')[2], split(id, '/')[4])");
      if (role.optIn) expect(module!.loop).toBe(`id in ${role.optIn}`);
    },
  );

  it.each(roles.filter((r) => r.optIn).map((r) => [r.optIn!, r.name] as const))(
    'the opt-in %s (%s) grants nothing unless set',
    (param) => {
      expect(resolve(main, param), `main.bicep default of ${param}`).toBe('');
      const passed = main.modules.find((m) => m.path === 'modules/role-assignments.bicep')!.body.object('params')!.get(param);
      const variable = main.vars.find((v) => v.name === passed);
      expect(variable?.value, `${param} reaches role-assignments.bicep as a parsed list`).toContain(`split(${param}, ',')`);
    },
  );
});
