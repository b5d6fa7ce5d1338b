import { describe, expect, it } from 'vitest';
import { createAzureRotators } from '../../../src/rotators/azure-rotators.js';
import { createRotatorRegistry } from '../../../src/rotation/rotator.js';
import { createFakeCredential } from '../../helpers/fake-credential.js';

describe('createAzureRotators', () => {
  it('registers the four Azure kinds, all alternating', () => {
    const registry = createRotatorRegistry(createAzureRotators({ credential: createFakeCredential(), tenantId: 'contoso.onmicrosoft.com' }));

    expect([...registry.keys()].sort()).toEqual(['entra-app-secret', 'eventgrid-topic-key', 'storage-account-key', 'storage-sas']);
    expect([...registry.values()].every((r) => r.strategies.length === 1 && r.strategies[0] === 'alternating')).toBe(true);
  });
});
