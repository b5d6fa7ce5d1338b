import type { AccessToken, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { builtInRotators } from '../../../src/app/rotators.js';
import { createRotatorRegistry } from '../../../src/rotators/rotator.js';

const credential: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.reject(new Error('no token in this test')),
};

describe('builtInRotators', () => {
  it('ships every documented rotator kind exactly once', () => {
    // Act
    const registry = createRotatorRegistry(builtInRotators({ credential }));

    // Assess
    expect([...registry.keys()].sort()).toEqual([
      'entra-app-secret',
      'eventgrid-topic-key',
      'postgres',
      'random',
      'storage-account-key',
      'storage-sas',
      'webhook',
    ]);
  });
});
