import { AZURITE_KEEP_ALIVE_SECONDS, requireAzuriteBlob } from '../../emulators/azurite-module.js';
import { BlobServiceClient } from '@azure/storage-blob';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const devStoreAccount = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

export interface AzuriteBlob {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  readonly blobEndpoint: string;
  /** Connection string with the account key (SharedKey over http), as `LedgerStorage` takes it locally. */
  readonly connectionString: string;
  client(): BlobServiceClient;
  stop(): Promise<void>;
}

interface BlobServerLike {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}

/**
 * Real Azurite blob service, in process, in memory, on an ephemeral port.
 * `skipApiVersionCheck` because the blob SDK speaks a newer API version than
 * Azurite knows.
 */
export async function startAzuriteBlob(): Promise<AzuriteBlob> {
  const { BlobServer, BlobConfiguration } = requireAzuriteBlob<new (configuration: unknown) => BlobServerLike, new (...args: unknown[]) => unknown>();
  // host, port, keep-alive, metadata db, extent db, persistence, access log, log stream, debug log, debug path,
  // loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, in-memory persistence
  const configuration = new BlobConfiguration('127.0.0.1', 0, AZURITE_KEEP_ALIVE_SECONDS, undefined, undefined, undefined, false, undefined, false, undefined, false, true, '', '', '', undefined, false, true);
  const server = new BlobServer(configuration);
  await server.start();
  const blobEndpoint = `${server.getHttpServerAddress()}/${devStoreAccount.name}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${devStoreAccount.name};AccountKey=${devStoreAccount.key};BlobEndpoint=${blobEndpoint};`;
  return {
    blobEndpoint,
    connectionString,
    client: () => BlobServiceClient.fromConnectionString(connectionString),
    stop: () => server.close(),
  };
}
