import { requireAzuriteBlob } from '../azurite-module.js';

/**
 * An in-process Azurite blob service whose storage accounts are the
 * stand-in's, with their real key pairs: a key the stand-in regenerates stops
 * authenticating at once, so SharedKey calls prove which keys work.
 *
 * Azurite reads custom accounts from `AZURITE_ACCOUNTS` ("name:key1:key2;...")
 * at start and every 60 s. To apply a regenerated key at once, the variable is
 * rewritten and the server's account store asked to re-read it
 * (`BlobServer.accountDataStore.refresh()`, present in the pinned Azurite 3.35;
 * the integration tests fail loudly if a later version drops it). The
 * well-known `devstoreaccount1` stays in the list, so other in-process Azurite
 * servers that re-read the variable keep their default account.
 */
export interface AzuriteAccount {
  readonly name: string;
  readonly key1: string;
  readonly key2: string;
}

export interface AzuriteAccounts {
  /** Path-style blob endpoint of an account: `http://127.0.0.1:{port}/{name}`. */
  blobEndpoint(accountName: string): string;
  setAccounts(accounts: readonly AzuriteAccount[]): void;
  stop(): Promise<void>;
}

interface AccountStore {
  refresh(): void;
}

interface BlobServerLike {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
  readonly accountDataStore?: AccountStore;
}

type BlobServerConstructor = new (configuration: unknown) => BlobServerLike;
// Azurite's constructor takes positional options; only the ones named here differ from its defaults.
type BlobConfigurationConstructor = new (...args: unknown[]) => unknown;

const devStoreAccount = 'devstoreaccount1:Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function accountsVariable(accounts: readonly AzuriteAccount[]): string {
  return [devStoreAccount, ...accounts.map((a) => `${a.name}:${a.key1}:${a.key2}`)].join(';');
}

export async function startAzuriteAccounts(accounts: readonly AzuriteAccount[], options: { host?: string } = {}): Promise<AzuriteAccounts> {
  const { BlobServer, BlobConfiguration } = requireAzuriteBlob<BlobServerConstructor, BlobConfigurationConstructor>();

  const previous = process.env.AZURITE_ACCOUNTS;
  process.env.AZURITE_ACCOUNTS = accountsVariable(accounts);
  const host = options.host ?? '127.0.0.1';
  // host, port 0, keep-alive, loki paths, persistence, access log off, stream, debug log off, debug path,
  // loose, skipApiVersionCheck (the SDK speaks a newer version than Azurite knows), cert, key, pwd, oauth,
  // product-style URLs, in-memory persistence.
  const configuration = new BlobConfiguration(host, 0, undefined, undefined, undefined, undefined, false, undefined, false, undefined, false, true, '', '', '', undefined, false, true);
  const server = new BlobServer(configuration);
  await server.start();
  const address = server.getHttpServerAddress();
  const store = server.accountDataStore;
  if (store === undefined || typeof store.refresh !== 'function') {
    await server.close();
    throw new Error('This Azurite version does not expose its account store; regenerated keys could not take effect');
  }

  return {
    blobEndpoint: (accountName) => `${address}/${accountName}`,
    setAccounts(next) {
      process.env.AZURITE_ACCOUNTS = accountsVariable(next);
      store.refresh();
    },
    async stop() {
      await server.close();
      if (previous === undefined) delete process.env.AZURITE_ACCOUNTS;
      else process.env.AZURITE_ACCOUNTS = previous;
    },
  };
}
