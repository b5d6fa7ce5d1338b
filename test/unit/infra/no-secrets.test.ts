import { describe, expect, it } from 'vitest';
import { literal } from '../../helpers/bicep.js';
import { allResources, fileAt, readInfra, resourceOf } from './infra-files.js';

// Invariant I5 at deployment time: the templates never read a key, never put
// a key, password or secret-bearing connection string in an app setting or an
// output, and switch key-based (local) authentication off wherever a service
// offers it, so there is no key to leak in the first place.

const files = readInfra();
const code = [...files.values()].map((file) => [file.path, file] as const);

/** Expressions that read or carry a credential. Checked against code, not comments. */
const secretBearing = [
  /\blist\w*\s*\(/i, // listKeys(), listConnectionStrings(), listSecrets(), listAccountSas()...
  /\.listKeys\b/i,
  /\b(primary|secondary)(Master|ReadOnly)?Key\b/i,
  /\b(primary|secondary)ConnectionString\b/i,
  /AccountKey=/i,
  /SharedAccessKey/i,
  /SharedAccessSignature/i,
  /\bpassword\b/i,
];

describe('templates', () => {
  it.each(code)('%s reads no key and builds no secret-bearing string', (_, file) => {
    const hits = secretBearing.filter((pattern) => pattern.test(file.code)).map(String);

    expect(hits).toEqual([]);
  });

  it.each(code)('%s takes no secure parameter (Rotor\'s deployment needs no secret)', (_, file) => {
    expect(file.params.filter((p) => p.decorators.some((d) => d.startsWith('@secure'))).map((p) => p.name)).toEqual([]);
  });

  it.each(code)('%s outputs nothing secret', (_, file) => {
    for (const output of file.outputs) {
      expect(output.name, `${file.path} output ${output.name}`).not.toMatch(/key|password|secret|connection_?string|sas|token/i);
      expect(output.value, `${file.path} output ${output.name}`).not.toMatch(/connectionstring|\.keys\b|list\w*\(|key\b/i);
      expect(output.decorators, `${file.path} output ${output.name}`).not.toContain('@secure()');
    }
  });
});

describe('app settings', () => {
  const functionApp = fileAt(files, 'infra/modules/function-app.bicep');
  const settings = resourceOf(functionApp, 'Microsoft.Web/sites/config', (r) => literal(r.body.get('name')) === 'appsettings').body.object('properties')!;

  it.each(settings.keys())('%s carries no key, password or secret', (name) => {
    expect(name).not.toMatch(/(^|_)(KEY|PASSWORD|SECRET|SAS)$|Key$|Password$|Secret$/);
    for (const pattern of secretBearing) expect(settings.get(name)).not.toMatch(pattern);
  });

  it.each(settings.keys())('%s is not a connection string (identity-based connections only)', (name) => {
    // The one exception, and why it is safe: Application Insights' connection
    // string holds an identifier, not a credential, once local auth is off.
    if (name === 'APPLICATIONINSIGHTS_CONNECTION_STRING') {
      expect(settings.get(name)).toBe('applicationInsights.properties.ConnectionString');
      const component = resourceOf(fileAt(files, 'infra/modules/monitoring.bicep'), 'Microsoft.Insights/components');
      expect(literal(component.body.get('properties.DisableLocalAuth'))).toBe(true);
      return;
    }
    expect(name).not.toMatch(/ConnectionString|CONNECTION_STRING/i);
    // A bare binding name (no __ suffix) is how the runtime reads a connection string.
    expect(name).not.toMatch(/^(ServiceBusConnection|LedgerStorage|AzureWebJobsStorage)$/);
    expect(settings.get(name)).not.toMatch(/ConnectionString|Endpoint=sb:|DefaultEndpointsProtocol/i);
  });
});

describe('key-based authentication is off wherever a service offers it', () => {
  const switches: [type: string, property: string, off: boolean][] = [
    ['Microsoft.Storage/storageAccounts', 'properties.allowSharedKeyAccess', false],
    ['Microsoft.ServiceBus/namespaces', 'properties.disableLocalAuth', true],
    ['Microsoft.EventGrid/topics', 'properties.disableLocalAuth', true],
    ['Microsoft.Insights/components', 'properties.DisableLocalAuth', true],
  ];

  it.each(switches)('every %s sets %s to %s', (type, property, off) => {
    const declared = allResources(files).filter(({ resource }) => resource.type === type && !resource.existing);

    expect(declared.length, `declared ${type}`).toBeGreaterThan(0);
    for (const { file, resource } of declared) {
      expect(literal(resource.body.get(property)), `${file.path}: ${resource.symbol}`).toBe(off);
    }
  });

  it('storage allows no anonymous blob access', () => {
    const account = resourceOf(fileAt(files, 'infra/modules/storage.bicep'), 'Microsoft.Storage/storageAccounts');

    expect(literal(account.body.get('properties.allowBlobPublicAccess'))).toBe(false);
  });
});
