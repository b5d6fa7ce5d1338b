import { createRequire } from 'node:module';

/**
 * Azurite's blob service in-process, in memory, on an ephemeral port: the
 * ledger's storage for `npm start` and the end-to-end tests. Azurite ships no
 * type declarations, so its two classes are described here by what is used.
 */

interface AzuriteBlobServer {
  start(): Promise<void>;
  close(): Promise<void>;
  clean(): Promise<void>;
  getHttpServerAddress(): string;
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

export async function startAzuriteBlob(options: { readonly port?: number } = {}): Promise<LocalAzurite> {
  const require = createRequire(import.meta.url);
  const BlobServer = (require('azurite/dist/src/blob/BlobServer.js') as { default: BlobServerClass }).default;
  const BlobConfiguration = (require('azurite/dist/src/blob/BlobConfiguration.js') as { default: BlobConfigurationClass }).default;
  // skipApiVersionCheck: the blob SDK sends a newer API version than Azurite knows.
  const configuration = new BlobConfiguration(
    '127.0.0.1', options.port ?? 0, undefined, undefined, undefined, undefined,
    false, undefined, false, undefined, false, true, '', '', '', undefined, false, true,
  );
  const server = new BlobServer(configuration);
  await server.start();
  const address = server.getHttpServerAddress();
  const blobEndpoint = `${address}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    async stop() {
      await server.close();
      await server.clean();
    },
  };
}
