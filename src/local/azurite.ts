import { AZURITE_KEEP_ALIVE_SECONDS, requireAzuriteBlob } from '../../emulators/azurite-module.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Azurite's blob service in-process on an ephemeral port: the ledger's
 * storage for `npm start` and the end-to-end tests. In memory, or on disk in
 * a data directory (`npm start -- --data-dir`). Azurite ships no type
 * declarations, so its classes are described here by what is used.
 */

interface LokiLike {
  saveDatabase(callback: (error?: unknown) => void): void;
  autosaveDirty(): boolean;
  readonly throttledSavePending?: boolean;
}
interface MetadataStoreLike {
  readonly db: LokiLike;
}
interface AzuriteBlobServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
  readonly metadataStore: MetadataStoreLike;
  readonly extentMetadataStore: MetadataStoreLike;
}
type BlobServerClass = new (configuration: unknown) => AzuriteBlobServer;
// Constructor of BlobConfiguration: (host, port, keepAliveTimeout, metadataDBPath, extentDBPath, persistencePathArray,
// enableAccessLog, accessLogWriteStream, enableDebugLog, debugLogFilePath, loose, skipApiVersionCheck, cert, key, pwd,
// oauth, disableProductStyleUrl, isMemoryPersistence)
type BlobConfigurationClass = new (...args: unknown[]) => unknown;

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface LocalAzurite {
  readonly blobEndpoint: string;
  readonly connectionString: string;
  stop(): Promise<void>;
}

export interface LocalAzuriteOptions {
  readonly port?: number;
  /** Keep blobs in this directory (Azurite's `--location`); unset: in memory. */
  readonly dataDir?: string;
}

export async function startAzuriteBlob(options: LocalAzuriteOptions = {}): Promise<LocalAzurite> {
  const { BlobServer, BlobConfiguration } = requireAzuriteBlob<BlobServerClass, BlobConfigurationClass>();
  const dir = options.dataDir;
  if (dir !== undefined) mkdirSync(join(dir, 'blobstorage'), { recursive: true });
  // skipApiVersionCheck: the blob SDK sends a newer API version than Azurite knows.
  const configuration = new BlobConfiguration(
    '127.0.0.1', options.port ?? 0, AZURITE_KEEP_ALIVE_SECONDS,
    dir === undefined ? undefined : join(dir, 'azurite_db_blob.json'),
    dir === undefined ? undefined : join(dir, 'azurite_db_blob_extent.json'),
    dir === undefined ? undefined : [{ locationId: 'Default', locationPath: join(dir, 'blobstorage'), maxConcurrency: 10 }],
    false, undefined, false, undefined, false, true, '', '', '', undefined, false, dir === undefined,
  );
  const server = new BlobServer(configuration);
  await server.start();
  if (dir !== undefined) {
    saveBeforeAnswering(server.metadataStore);
    saveBeforeAnswering(server.extentMetadataStore);
  }
  const address = server.getHttpServerAddress();
  const blobEndpoint = `${address}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    async stop() {
      await server.close();
      if (dir === undefined) await server.clean();
    },
  };
}

const lifecycle = new Set(['constructor', 'init', 'close', 'clean', 'isInitialized', 'isClosed']);

/**
 * Azurite keeps its metadata in LokiJS, which saves to disk every 5 s: a
 * `kill -9` would lose the last seconds of ledger writes that clients were
 * already told had succeeded, while Key Vault and Service Bus kept theirs.
 * Here every metadata call that changed something resolves only once a save
 * that includes the change is on disk (Loki coalesces saves that overlap),
 * so Azurite answers a write after it is durable. Reads do not wait.
 */
function saveBeforeAnswering(store: MetadataStoreLike): void {
  const db = store.db;
  const saved = (): Promise<void> =>
    new Promise((resolve, reject) => {
      db.saveDatabase((error) => (error === undefined || error === null ? resolve() : reject(new Error('Azurite could not save its metadata', { cause: error }))));
    });
  const target = store as unknown as Record<string, unknown>;
  for (let proto = Object.getPrototypeOf(store) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const original = target[name];
      if (lifecycle.has(name) || typeof original !== 'function' || Object.prototype.hasOwnProperty.call(target, name)) continue;
      target[name] = function durable(this: unknown, ...args: unknown[]): unknown {
        const result = (original as (...a: unknown[]) => unknown).apply(this, args);
        if (!(result instanceof Promise)) return result;
        return result.then(async (value: unknown) => {
          if (db.autosaveDirty() || db.throttledSavePending === true) await saved();
          return value;
        });
      };
    }
  }
}
