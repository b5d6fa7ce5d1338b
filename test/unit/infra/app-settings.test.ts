import { describe, expect, it } from 'vitest';
import { settingCatalogue } from '../../../src/config/index.js';
import { literal } from '../../helpers/bicep.js';
import { fileAt, readInfra, resourceOf } from './infra-files.js';

// The Function App's app settings against the one list of settings Rotor
// reads (settingCatalogue): every `azure` setting is set, no `local` one is,
// and nothing else appears but the Functions runtime's own settings below.

/** Settings the Functions runtime reads (not Rotor): identity-based trigger and host connections, telemetry. */
const runtimeSettings = {
  ServiceBusConnection__credential: 'managedidentity',
  ServiceBusConnection__clientId: undefined,
  // The blob endpoint only (not __accountName, which makes the host derive queue and table endpoints: issue #14, item 8).
  AzureWebJobsStorage__blobServiceUri: 'storage.properties.primaryEndpoints.blob',
  AzureWebJobsStorage__credential: 'managedidentity',
  AzureWebJobsStorage__clientId: undefined,
  APPLICATIONINSIGHTS_CONNECTION_STRING: undefined,
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: undefined,
} as const satisfies Record<string, string | undefined>;

/** Flex Consumption takes the runtime from functionAppConfig and rejects these (or ignores them). */
const notOnFlexConsumption = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
];

const catalogue = Object.entries(settingCatalogue) as [string, { where: 'azure' | 'local' | 'either' }][];
const azureSettings = catalogue.filter(([, s]) => s.where === 'azure').map(([name]) => name);
const localSettings = catalogue.filter(([, s]) => s.where === 'local').map(([name]) => name);
const eitherSettings = catalogue.filter(([, s]) => s.where === 'either').map(([name]) => name);

const files = readInfra();
const functionApp = fileAt(files, 'infra/modules/function-app.bicep');
const appSettings = resourceOf(functionApp, 'Microsoft.Web/sites/config', (r) => literal(r.body.get('name')) === 'appsettings');
const settings = appSettings.body.object('properties');

describe('Function App settings', () => {
  it('are a literal object the test can read', () => {
    expect(settings, 'properties of the appsettings config must be an object literal').toBeDefined();
  });

  it.each(azureSettings)('sets the azure setting %s', (name) => {
    expect(settings!.keys()).toContain(name);
    expect(settings!.get(name)).not.toMatch(/^''$|^$/);
  });

  it.each(localSettings)('never sets the local-only setting %s (anywhere in infra/)', (name) => {
    expect(settings!.keys()).not.toContain(name);
    for (const file of files.values()) {
      expect(file.code, `${file.path} mentions ${name}`).not.toMatch(new RegExp(`\\b${name}\\s*:`));
    }
  });

  it('sets nothing but Rotor settings and the runtime settings', () => {
    const known = new Set([...azureSettings, ...eitherSettings, ...Object.keys(runtimeSettings)]);

    expect(settings!.keys().filter((key) => !known.has(key))).toEqual([]);
  });

  it.each(Object.entries(runtimeSettings))('sets the runtime setting %s', (name, expected) => {
    expect(settings!.keys()).toContain(name);
    if (expected !== undefined) expect(literal(settings!.get(name)) ?? settings!.get(name)).toBe(expected);
  });

  it.each(notOnFlexConsumption)('does not set %s, which Flex Consumption does not take', (name) => {
    expect(settings!.keys()).not.toContain(name);
  });

  it('passes the user-assigned identity to every identity-based connection', () => {
    for (const name of ['AZURE_CLIENT_ID', 'ServiceBusConnection__clientId', 'AzureWebJobsStorage__clientId']) {
      expect(settings!.get(name), name).toBe('identityClientId');
    }
    expect(settings!.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'ClientId=${identityClientId};Authorization=AAD'");
  });
});

describe('Function App hosting', () => {
  const plan = resourceOf(functionApp, 'Microsoft.Web/serverfarms');
  const site = resourceOf(functionApp, 'Microsoft.Web/sites');

  it('runs on the Flex Consumption plan', () => {
    expect(literal(plan.body.get('sku.name'))).toBe('FC1');
    expect(literal(plan.body.get('sku.tier'))).toBe('FlexConsumption');
    expect(literal(plan.body.get('properties.reserved'))).toBe(true);
  });

  it('lets Flex Consumption scale between 40 and 1000 instances (Flex rejects fewer than 40)', () => {
    const main = fileAt(files, 'infra/main.bicep');
    const param = main.params.find((p) => p.name === 'maximumInstanceCount')!;

    expect(param.decorators).toContain('@minValue(40)');
    expect(param.decorators).toContain('@maxValue(1000)');
    expect(Number(param.defaultValue)).toBeGreaterThanOrEqual(40);
    expect(site.body.get('properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount')).toBe('maximumInstanceCount');
  });

  it('runs Node 22', () => {
    expect(literal(site.body.get('properties.functionAppConfig.runtime.name'))).toBe('node');
    expect(literal(site.body.get('properties.functionAppConfig.runtime.version'))).toBe('22');
  });

  it('uses only the user-assigned identity, also for the deployment package', () => {
    expect(literal(site.body.get('identity.type'))).toBe('UserAssigned');
    expect(literal(site.body.get('properties.functionAppConfig.deployment.storage.authentication.type'))).toBe('UserAssignedIdentity');
  });

  it('is tagged for azd as the service "api"', () => {
    expect(site.body.get('tags')).toContain("'azd-service-name': 'api'");
  });

  it('accepts HTTPS only and no basic publishing credentials', () => {
    expect(literal(site.body.get('properties.httpsOnly'))).toBe(true);
    const policies = functionApp.resources.filter((r) => r.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => literal(p.body.get('name'))).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(literal(p.body.get('properties.allow'))).toBe(false);
  });
});
