import { badParameter, VaultError, vaultErrorCodes } from './errors.js';
import type { VaultOperation } from './operations.js';

/** One Key Vault call, recognised from method and path. */
export interface VaultRoute {
  readonly operation: VaultOperation;
  readonly name?: string | undefined;
  /** `undefined` or `''` means the latest version. */
  readonly version?: string | undefined;
}

const notFound = (): VaultError =>
  new VaultError(404, vaultErrorCodes.NotFound, 'The requested path is not a Key Vault secrets endpoint.');
const methodNotAllowed = (method: string): VaultError =>
  new VaultError(405, vaultErrorCodes.MethodNotAllowed, `The method ${method} is not allowed on this path.`);

/**
 * Maps a request to the operation `SecretClient` meant. The latest version is
 * addressed as `/secrets/{name}/` (trailing slash: the SDK sends an empty
 * version) and, for hand-written calls, `/secrets/{name}`.
 */
export function matchRoute(method: string, pathname: string): VaultRoute {
  let parts: string[];
  try {
    parts = pathname.split('/').slice(1).map((p) => decodeURIComponent(p));
  } catch {
    throw badParameter('The request URI is not correctly percent-encoded.');
  }
  const [rawCollection = '', name, third] = parts;
  const collection = rawCollection.toLowerCase();
  const depth = parts.length;
  const want = (expected: string, operation: VaultOperation, route: Omit<VaultRoute, 'operation'> = {}): VaultRoute => {
    if (method !== expected) throw methodNotAllowed(method);
    return { operation, ...route };
  };

  if (collection === 'secrets') {
    if (depth === 1 || (depth === 2 && name === '')) return want('GET', 'list');
    if (name === undefined || name === '') throw notFound();
    if (depth === 2) {
      if (name.toLowerCase() === 'restore' && method === 'POST') return { operation: 'restore' };
      switch (method) {
        case 'PUT':
          return { operation: 'set', name };
        case 'DELETE':
          return { operation: 'delete', name };
        case 'GET':
          return { operation: 'get', name };
        case 'PATCH':
          return { operation: 'update', name };
        default:
          throw methodNotAllowed(method);
      }
    }
    if (depth === 3 && third !== undefined) {
      const lower = third.toLowerCase();
      if (lower === 'versions') return want('GET', 'listVersions', { name });
      if (lower === 'backup') return want('POST', 'backup', { name });
      if (method === 'GET') return { operation: 'get', name, version: third };
      if (method === 'PATCH') return { operation: 'update', name, version: third };
      throw methodNotAllowed(method);
    }
    throw notFound();
  }

  if (collection === 'deletedsecrets') {
    if (depth === 1 || (depth === 2 && name === '')) return want('GET', 'listDeleted');
    if (name === undefined || name === '') throw notFound();
    if (depth === 2) {
      if (method === 'GET') return { operation: 'getDeleted', name };
      if (method === 'DELETE') return { operation: 'purge', name };
      throw methodNotAllowed(method);
    }
    if (depth === 3 && third?.toLowerCase() === 'recover') return want('POST', 'recover', { name });
    throw notFound();
  }

  throw notFound();
}
