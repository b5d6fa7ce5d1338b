import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createAzureCredential } from '../../../src/identity/credential.js';

describe('createAzureCredential', () => {
  it('uses the user-assigned managed identity directly when its client id is configured (Azure)', () => {
    const credential = createAzureCredential({ managedIdentityClientId: '00000000-0000-0000-0000-000000000001' });

    expect(credential).toBeInstanceOf(ManagedIdentityCredential);
    expect(credential).not.toBeInstanceOf(DefaultAzureCredential);
  });

  it('falls back to the default chain without one (a developer machine)', () => {
    expect(createAzureCredential({})).toBeInstanceOf(DefaultAzureCredential);
  });
});
