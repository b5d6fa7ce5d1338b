import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../../../emulators/keyvault/routes.js';

describe('matchRoute', () => {
  it.each([
    { method: 'PUT', path: '/secrets/db', route: { operation: 'set', name: 'db' } },
    { method: 'GET', path: '/secrets/db/', route: { operation: 'get', name: 'db', version: '' } },
    { method: 'GET', path: '/secrets/db', route: { operation: 'get', name: 'db' } },
    { method: 'GET', path: '/secrets/db/0123456789abcdef0123456789abcdef', route: { operation: 'get', name: 'db', version: '0123456789abcdef0123456789abcdef' } },
    { method: 'PATCH', path: '/secrets/db/abc', route: { operation: 'update', name: 'db', version: 'abc' } },
    { method: 'GET', path: '/secrets', route: { operation: 'list' } },
    { method: 'GET', path: '/secrets/db/versions', route: { operation: 'listVersions', name: 'db' } },
    { method: 'DELETE', path: '/secrets/db', route: { operation: 'delete', name: 'db' } },
    { method: 'POST', path: '/secrets/db/backup', route: { operation: 'backup', name: 'db' } },
    { method: 'POST', path: '/secrets/restore', route: { operation: 'restore' } },
    { method: 'PUT', path: '/secrets/restore', route: { operation: 'set', name: 'restore' } },
    { method: 'GET', path: '/deletedsecrets', route: { operation: 'listDeleted' } },
    { method: 'GET', path: '/deletedsecrets/db', route: { operation: 'getDeleted', name: 'db' } },
    { method: 'DELETE', path: '/deletedsecrets/db', route: { operation: 'purge', name: 'db' } },
    { method: 'POST', path: '/deletedsecrets/db/recover', route: { operation: 'recover', name: 'db' } },
    { method: 'GET', path: '/secrets/db%20pass/', route: { operation: 'get', name: 'db pass', version: '' } },
  ])('$method $path is $route.operation', ({ method, path, route }) => {
    // Act
    const matched = matchRoute(method, path);

    // Assess
    expect(matched).toEqual(route);
  });

  it.each([
    { method: 'GET', path: '/keys/k', status: 404 },
    { method: 'GET', path: '/secrets/db/abc/extra', status: 404 },
    { method: 'POST', path: '/secrets/db/versions', status: 405 },
    { method: 'PUT', path: '/deletedsecrets/db', status: 405 },
    { method: 'GET', path: '/secrets/%E0%A4%A', status: 400 },
  ])('refuses $method $path with $status', ({ method, path, status }) => {
    // Act
    const act = () => matchRoute(method, path);

    // Assess
    expect(act).toThrow(expect.objectContaining({ name: 'VaultError', status }));
  });
});
