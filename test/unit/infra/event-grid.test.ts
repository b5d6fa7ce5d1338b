import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { literal, literalArray, resolve } from '../../helpers/bicep.js';
import { fileAt, readInfra, repoRoot, resourceOf } from './infra-files.js';

// Key Vault events in, notifications out. The subscription must deliver only
// what starts a rotation (never SecretNewVersionCreated: I7), retry, and keep
// what it could not deliver; the notification topic must accept Entra only.

const files = readInfra();
const main = fileAt(files, 'infra/main.bicep');
const vaultEvents = fileAt(files, 'infra/modules/vault-events.bicep');
const systemTopic = resourceOf(vaultEvents, 'Microsoft.EventGrid/systemTopics');
const subscription = resourceOf(vaultEvents, 'Microsoft.EventGrid/systemTopics/eventSubscriptions');
const sub = subscription.body.object('properties')!;

describe('Key Vault system topic', () => {
  it('is a Key Vault system topic on the vault, in the vault\'s region', () => {
    expect(literal(systemTopic.body.get('properties.topicType'))).toBe('Microsoft.KeyVault.vaults');
    expect(systemTopic.body.get('properties.source')).toBe('vault.id');
    expect(systemTopic.body.get('location')).toBe('vault.location');
  });

  it('is deployed once per target vault, into the vault\'s own resource group', () => {
    const module = main.modules.find((m) => m.path === 'modules/vault-events.bicep')!;

    expect(module.loop).toBe('id in vaultIds');
    expect(module.body.get('scope')).toBe("resourceGroup(split(id, '/')[2], split(id, '/')[4])");
  });
});

describe('event subscription to keyVaultEvents', () => {
  it('filters to exactly SecretNearExpiry and SecretExpired', () => {
    const types = literalArray(sub.get('filter.includedEventTypes'));

    expect(types?.slice().sort()).toEqual(['Microsoft.KeyVault.SecretExpired', 'Microsoft.KeyVault.SecretNearExpiry']);
    expect(sub.object('filter')!.keys()).toEqual(['includedEventTypes']);
  });

  it('delivers to the keyVaultEvents function as an AzureFunction endpoint (no key in the template)', () => {
    expect(literal(sub.get('destination.endpointType'))).toBe('AzureFunction');
    expect(sub.get('destination.properties.resourceId')).toBe("'${functionAppId}/functions/${intakeFunctionName}'");
    expect(resolve(vaultEvents, 'intakeFunctionName')).toBe('keyVaultEvents');
  });

  it('retries for a day and then dead-letters to the storage container with its identity', () => {
    expect(literal(sub.get('retryPolicy.maxDeliveryAttempts'))).toBeGreaterThan(1);
    expect(literal(sub.get('retryPolicy.eventTimeToLiveInMinutes'))).toBe(1440);
    expect(literal(sub.get('deadLetterWithResourceIdentity.identity.type'))).toBe('UserAssigned');
    expect(literal(sub.get('deadLetterWithResourceIdentity.deadLetterDestination.endpointType'))).toBe('StorageBlob');
    expect(sub.get('deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName')).toBe('deadLetterContainerName');
  });

  it('gives the system topic the identity the dead-letter destination names', () => {
    expect(sub.get('deadLetterWithResourceIdentity.identity.userAssignedIdentity')).toBe('eventGridIdentityId');
    expect(systemTopic.body.get('identity.userAssignedIdentities')).toContain("'${eventGridIdentityId}'");
  });

  it('is created only when asked, because the function must exist first', () => {
    expect(subscription.condition).toBe('subscribe');
    const module = main.modules.find((m) => m.path === 'modules/vault-events.bicep')!;
    expect(module.body.get('params.subscribe')).toBe('subscribeVaultEvents');
    expect(resolve(main, 'subscribeVaultEvents')).toBe(false);
  });

  it('is never switched on by state kept in the azd environment (a second azd up provisions like the first)', () => {
    const parameters = JSON.parse(readFileSync(join(repoRoot, 'infra/main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
    const hooks = ['infra/hooks/subscribe-vault-events.sh', 'infra/hooks/wait-for-deployment-role.sh'].map((p) => readFileSync(join(repoRoot, p), 'utf8'));

    expect(Object.keys(parameters.parameters)).not.toContain('subscribeVaultEvents');
    for (const hook of hooks) expect(hook).not.toMatch(/^\s*azd env set/m);
  });

  it('is created after deploy by the azd postdeploy hook, with the same module', () => {
    const azureYaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');
    const hook = readFileSync(join(repoRoot, 'infra/hooks/subscribe-vault-events.sh'), 'utf8');

    expect(azureYaml).toMatch(/^hooks:\n(?: {2,}.*\n)*? {2}postdeploy:\n(?: {4}.*\n)*? {4}run: \.\/infra\/hooks\/subscribe-vault-events\.sh$/m);
    expect(hook).toContain('modules/vault-events.bicep');
    expect(hook).toMatch(/subscribe=true/);
    // Every parameter the module requires is passed by the hook.
    const required = vaultEvents.params.filter((p) => p.defaultValue === undefined).map((p) => p.name);
    for (const name of required) expect(hook, `hook passes ${name}`).toMatch(new RegExp(`\\b${name}=`));
    // Every main.bicep output the hook reads exists.
    // `${NAME:-default}` is an optional knob, not an output the hook depends on.
    const read = [...hook.matchAll(/\$\{?([A-Z][A-Z0-9_]+)(?![A-Z0-9_]|:-)/g)].map((m) => m[1]!);
    const provided = new Set([...main.outputs.map((o) => o.name), 'ROTOR_TARGET_VAULT_IDS', 'AZURE_ENV_NAME']);
    expect(read.filter((name) => !provided.has(name))).toEqual([]);
  });
});

describe('notification topic', () => {
  const topic = resourceOf(fileAt(files, 'infra/modules/notifications.bicep'), 'Microsoft.EventGrid/topics');

  it('takes CloudEvents 1.0', () => {
    expect(literal(topic.body.get('properties.inputSchema'))).toBe('CloudEventSchemaV1_0');
  });

  it('accepts Entra identities only (no topic keys)', () => {
    expect(literal(topic.body.get('properties.disableLocalAuth'))).toBe(true);
  });
});
