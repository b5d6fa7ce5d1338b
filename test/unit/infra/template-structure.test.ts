import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { literal, resolve } from '../../helpers/bicep.js';
import { fileAt, readInfra, repoRoot } from './infra-files.js';

// The shape azd and `az deployment group create` rely on, and the habits that
// keep the Bicep honest without a compiler: documented resource types and API
// versions only, modules that exist, parameters that line up, one naming table.

/**
 * Resource types and API versions in use, each checked against Microsoft's
 * template reference or Azure/bicep-registry-modules when it was added.
 * A new type or version fails this test until it is checked and listed.
 */
const documentedApiVersions: Record<string, string> = {
  'Microsoft.Authorization/roleAssignments': '2022-04-01',
  'Microsoft.Authorization/roleDefinitions': '2022-04-01',
  'Microsoft.EventGrid/systemTopics': '2025-02-15',
  'Microsoft.EventGrid/systemTopics/eventSubscriptions': '2025-02-15',
  'Microsoft.EventGrid/topics': '2025-02-15',
  'Microsoft.Insights/components': '2020-02-02',
  'Microsoft.KeyVault/vaults': '2023-07-01',
  'Microsoft.ManagedIdentity/userAssignedIdentities': '2023-01-31',
  'Microsoft.Network/privateDnsZones': '2024-06-01',
  'Microsoft.Network/privateDnsZones/virtualNetworkLinks': '2024-06-01',
  'Microsoft.Network/privateEndpoints': '2024-05-01',
  'Microsoft.Network/privateEndpoints/privateDnsZoneGroups': '2024-05-01',
  'Microsoft.Network/virtualNetworks': '2024-05-01',
  'Microsoft.OperationalInsights/workspaces': '2023-09-01',
  'Microsoft.ServiceBus/namespaces': '2024-01-01',
  'Microsoft.ServiceBus/namespaces/queues': '2024-01-01',
  'Microsoft.Storage/storageAccounts': '2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices': '2023-05-01',
  'Microsoft.Storage/storageAccounts/blobServices/containers': '2023-05-01',
  'Microsoft.Web/serverfarms': '2024-04-01',
  'Microsoft.Web/sites': '2024-04-01',
  'Microsoft.Web/sites/basicPublishingCredentialsPolicies': '2024-04-01',
  'Microsoft.Web/sites/config': '2024-04-01',
};

const files = readInfra();
const main = fileAt(files, 'infra/main.bicep');
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(repoRoot, path), 'utf8'));

describe('resource types and API versions', () => {
  const used = [...files.values()].flatMap((file) => file.resources.map((r) => [`${file.path}: ${r.symbol}`, r.type, r.apiVersion] as const));

  it.each(used)('%s uses a documented API version (%s)', (_, type, version) => {
    expect(documentedApiVersions[type], `${type} is not in the documented table`).toBe(version);
  });

  it('no preview API versions', () => {
    expect(used.filter(([, , version]) => version.includes('preview'))).toEqual([]);
  });
});

describe('modules', () => {
  const references = [...files.values()].flatMap((file) => file.modules.map((m) => [file.path, m.path] as const));

  it.each(references)('%s uses %s, which exists', (from, path) => {
    expect(existsSync(join(repoRoot, dirname(from), path))).toBe(true);
  });

  it('every module file is used', () => {
    const used = new Set(references.map(([from, path]) => join(dirname(from), path).split('\\').join('/')));
    const unused = [...files.keys()].filter((path) => path !== 'infra/main.bicep' && !used.has(path));

    // vault-events.bicep is also deployed on its own by the postdeploy hook, but main uses it too.
    expect(unused).toEqual([]);
  });
});

describe('main.bicep', () => {
  it('deploys at resource-group scope (azd up, or az deployment group create)', () => {
    expect(main.targetScope).toBe('resourceGroup');
  });

  it('grants roles on, subscribes to and allows exactly the same vaults', () => {
    const roleParams = main.modules.find((m) => m.path === 'modules/role-assignments.bicep')!.body.object('params')!;
    const events = main.modules.find((m) => m.path === 'modules/vault-events.bicep')!;
    const allowed = main.vars.find((v) => v.name === 'allowedVaultUrls')!;
    const functionAppParams = main.modules.find((m) => m.path === 'modules/function-app.bicep')!.body.object('params')!;

    expect(roleParams.get('targetVaultIds')).toBe('vaultIds');
    expect(events.loop).toBe('id in vaultIds');
    expect(allowed.value).toMatch(/^map\(vaultIds,/);
    expect(functionAppParams.get('allowedVaultUrls')).toBe("join(allowedVaultUrls, ',')");
  });

  it('names resources from the abbreviations table plus the resource token', () => {
    const abbreviations = readJson('infra/abbreviations.json') as Record<string, string>;
    const names = [
      ...main.resources.map((r) => r.body.get('name') ?? ''),
      ...main.vars.filter((v) => /Name$/.test(v.name) && v.value.includes('${')).map((v) => v.value),
      ...main.modules.flatMap((m) => {
        const params = m.body.object('params');
        return (params?.keys() ?? []).filter((k) => k === 'name' || /Name$|Prefix$/.test(k)).map((k) => params!.get(k) ?? '');
      }),
    ].filter((value) => value.startsWith("'") && value.includes('${'));

    expect(names.length).toBeGreaterThan(8);
    for (const name of names) {
      expect(name, name).toMatch(/^'\$\{abbrs\.(\w+)\}/);
      expect(name, name).toContain('${resourceToken}');
      expect(abbreviations, name).toHaveProperty(/^'\$\{abbrs\.(\w+)\}/.exec(name)![1]!);
    }
  });

  it('uses only abbreviations the table has (in every file)', () => {
    const abbreviations = readJson('infra/abbreviations.json') as Record<string, string>;
    const used = [...files.values()].flatMap((file) => [...file.code.matchAll(/\babbrs\.(\w+)/g)].map((m) => m[1]!));

    expect(used.filter((key) => !(key in abbreviations))).toEqual([]);
  });
});

describe('main.parameters.json', () => {
  const parameters = (readJson('infra/main.parameters.json') as { parameters: Record<string, { value: unknown }> }).parameters;

  it('sets only parameters main.bicep declares', () => {
    const declared = new Set(main.params.map((p) => p.name));

    expect(Object.keys(parameters).filter((name) => !declared.has(name))).toEqual([]);
  });

  it('sets every parameter main.bicep requires', () => {
    const required = main.params.filter((p) => p.defaultValue === undefined).map((p) => p.name);

    expect(required.filter((name) => !(name in parameters))).toEqual([]);
  });

  it.each(Object.entries(parameters))('%s comes from the azd environment', (_, { value }) => {
    expect(value).toMatch(/^\$\{[A-Z][A-Z0-9_]*(=[^}]*)?\}$/);
  });
});

describe('azure.yaml', () => {
  const yaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');

  it('deploys this project as the Function App service "api" (TypeScript)', () => {
    expect(yaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
  });

  it('provisions infra/main.bicep', () => {
    expect(yaml).toMatch(/^infra:\n {2}provider: bicep\n {2}path: infra\n {2}module: main$/m);
  });
});

describe('storage containers', () => {
  const storage = fileAt(files, 'infra/modules/storage.bicep');
  const containers = storage.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers');
  const passed = main.modules.find((m) => m.path === 'modules/storage.bicep')!.body.object('params')!;

  it.each([
    ['deployment package', 'deploymentContainerName', 'app-package'],
    ['ledger', 'ledgerContainerName', 'rotor-ledger'],
    ['Event Grid dead letters', 'deadLetterContainerName', 'eventgrid-deadletter'],
  ])('has a private container for the %s', (_, param, name) => {
    const container = containers.find((c) => c.body.get('name') === param);

    expect(container, `container named by ${param}`).toBeDefined();
    expect(container!.body.get('properties.publicAccess')).toBe("'None'");
    expect(resolve(main, passed.get(param))).toBe(name);
  });

  it('is where the Function App deploys from and where Event Grid dead-letters', () => {
    const functionAppParams = main.modules.find((m) => m.path === 'modules/function-app.bicep')!.body.object('params')!;
    const eventsParams = main.modules.find((m) => m.path === 'modules/vault-events.bicep')!.body.object('params')!;

    expect(functionAppParams.get('deploymentContainerName')).toBe(passed.get('deploymentContainerName'));
    expect(eventsParams.get('deadLetterContainerName')).toBe(passed.get('deadLetterContainerName'));
    expect(eventsParams.get('deadLetterStorageAccountId')).toBe('storage.outputs.id');
  });
});

describe('network isolation', () => {
  it('is off unless asked for', () => {
    expect(resolve(main, 'networkIsolation')).toBe(false);
    expect(main.modules.find((m) => m.path === 'modules/network.bicep')!.condition).toBe('networkIsolation');
  });

  it.each([
    ['infra/modules/service-bus.bicep', 'Microsoft.ServiceBus/namespaces'],
    ['infra/modules/notifications.bicep', 'Microsoft.EventGrid/topics'],
  ])('%s turns public access off with it', (path, type) => {
    const resource = fileAt(files, path).resources.find((r) => r.type === type && !r.existing)!;

    expect(resource.body.get('properties.publicNetworkAccess')).toBe("networkIsolation ? 'Disabled' : 'Enabled'");
  });

  it('puts storage behind deny-by-default and the Function App into the subnet', () => {
    const account = fileAt(files, 'infra/modules/storage.bicep').resources.find((r) => r.type === 'Microsoft.Storage/storageAccounts')!;
    const functionAppParams = main.modules.find((m) => m.path === 'modules/function-app.bicep')!.body.object('params')!;

    expect(account.body.get('properties.networkAcls.defaultAction')).toBe("networkIsolation ? 'Deny' : 'Allow'");
    expect(functionAppParams.get('appSubnetId')).toBe("network.?outputs.appSubnetId ?? ''");
  });

  it('moves Service Bus to a new Premium namespace instead of changing the tier in place (Azure cannot)', () => {
    const name = main.vars.find((v) => v.name === 'serviceBusNamespaceName')!;
    const passed = main.modules.find((m) => m.path === 'modules/service-bus.bicep')!.body.object('params')!;
    const namespace = fileAt(files, 'infra/modules/service-bus.bicep').resources.find((r) => r.type === 'Microsoft.ServiceBus/namespaces' && !r.existing)!;
    const deploy = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');

    expect(passed.get('name')).toBe('serviceBusNamespaceName');
    expect(passed.get('networkIsolation')).toBe('networkIsolation');
    // The tier follows networkIsolation, so the name must too.
    expect(namespace.body.get('sku')).toMatch(/^networkIsolation\s*\?/);
    expect(name.value).toMatch(/^networkIsolation\s*\?\s*'\$\{abbrs\.serviceBusNamespaces\}rotor-premium-\$\{resourceToken\}'\s*:\s*'\$\{abbrs\.serviceBusNamespaces\}rotor-\$\{resourceToken\}'$/);
    expect(deploy).toMatch(/## Turning network isolation on in an existing deployment/);
  });

  it('gives storage (blob), Service Bus and the topic a private endpoint', () => {
    const network = fileAt(files, 'infra/modules/network.bicep');
    const groups = network.modules.map((m) => literal(m.body.get('params.groupId')));

    expect(groups.sort()).toEqual(['blob', 'namespace', 'topic']);
  });
});
