import { createRequire } from 'node:module';

/**
 * Azurite's blob server classes, loaded so that Azurite leaves the rest of the process alone.
 *
 * Azurite's `Telemetry.js` requires `applicationinsights` when the blob server's modules load, and merely
 * requiring it enables diagnostic-channel publishers that patch `pg`, `console` and the Azure SDK's tracing:
 * every span then records, and the Service Bus client stamps a `Diagnostic-Id` on each message it sends.
 * Azure's Functions host has no Azurite in its process, so neither does Rotor's local stack or a test:
 * `APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL` (read once, when applicationinsights first loads) turns the
 * patching off. Azurite's own telemetry stays off as before (its CLI's `init` is never called).
 */
export function requireAzuriteBlob<Server, Configuration>(): { readonly BlobServer: Server; readonly BlobConfiguration: Configuration } {
  process.env.APPLICATION_INSIGHTS_NO_DIAGNOSTIC_CHANNEL ??= '1';
  const require = createRequire(import.meta.url);
  // The LokiJS Azurite itself loads (a dependency of Azurite's, not of Rotor's).
  queryByNameFirst(createRequire(require.resolve('azurite/package.json'))('lokijs') as LokiModule);
  const { default: ExtentMetadata } = require('azurite/dist/src/common/persistence/LokiExtentMetadataStore.js') as { default: ExtentMetadataClass };
  deleteExtentsWithoutResorting(ExtentMetadata);
  // Azurite ships CommonJS without type declarations; these two classes are what its own CLI uses.
  const { default: BlobServer } = require('azurite/dist/src/blob/BlobServer.js') as { default: Server };
  const { default: BlobConfiguration } = require('azurite/dist/src/blob/BlobConfiguration.js') as { default: Configuration };
  return { BlobServer, BlobConfiguration };
}

/**
 * Azurite closes an idle connection after 5 s; Azure Storage keeps it for minutes. With 5 s, a client
 * reusing the socket as Azurite closes it meets "socket hang up" on a busy machine.
 */
export const AZURITE_KEEP_ALIVE_SECONDS = 120;

interface LokiResultset {
  readonly filterInitialized: boolean;
  readonly collection: { readonly binaryIndices: Readonly<Record<string, unknown>> };
  find(this: LokiResultset, query: unknown, firstOnly?: boolean): LokiResultset;
}
interface LokiModule {
  readonly Resultset: { prototype: LokiResultset };
}

/** Indexed keys that single out a document, most selective first. */
const SELECTIVE_KEYS = ['name', 'blobName'] as const;
const patched = new WeakSet<object>();

/**
 * Azurite looks blobs up in LokiJS with `findOne({ accountName, containerName, name, snapshot })`.
 * LokiJS uses an index only for the first key of such a query, and every blob has the same
 * `accountName`, so each lookup scanned every blob of the account: a blob request cost O(blobs), and a
 * run whose ledger grows (600 rotations at once: records, index entries, audit blobs) slowed down as it
 * went, to a crawl on a loaded machine, where Azure Storage answers in constant time (bench/README.md,
 * "The 600-secret stall"). The same equality clauses with the indexed `name` (or `blobName`) first give
 * the same documents, found through that index. Idempotent; Azurite's own code is unchanged.
 */
function queryByNameFirst(loki: LokiModule): void {
  const proto = loki.Resultset.prototype;
  if (patched.has(proto)) return;
  patched.add(proto);
  const find: LokiResultset['find'] = Reflect.get(proto, 'find');
  proto.find = function findSelectiveFirst(this: LokiResultset, query: unknown, firstOnly?: boolean): LokiResultset {
    if (this.filterInitialized || query === null || typeof query !== 'object' || Array.isArray(query)) return find.call(this, query, firstOnly);
    const clauses = query as Record<string, unknown>;
    const first = SELECTIVE_KEYS.find((key) => key in clauses && this.collection.binaryIndices[key] !== undefined);
    if (first === undefined || Object.keys(clauses)[0] === first) return find.call(this, query, firstOnly);
    const { [first]: selective, ...rest } = clauses;
    return find.call(this, { [first]: selective, ...rest }, firstOnly);
  };
}

interface ExtentCollection {
  findOne(query: { readonly id: string }): object | null;
  remove(doc: object): unknown;
}
interface ExtentMetadataStore {
  readonly EXTENTS_COLLECTION: string;
  readonly db: { getCollection(name: string): ExtentCollection | null };
}
interface ExtentMetadataClass {
  readonly prototype: { deleteExtent(this: ExtentMetadataStore, extentId: string): Promise<void> };
}

/** Deletions between two turns of the event loop while Azurite's garbage collector sweeps. */
const DELETES_PER_TURN = 256;

/**
 * Every 10 minutes Azurite's garbage collector deletes the extents no blob uses any more (each
 * overwrite of a blob, such as a rotation record's commit, leaves one), one `deleteExtent` at a time.
 * That did `findAndRemove({ id })`, which makes LokiJS re-sort the whole `id` index for each extent
 * deleted: n deletions cost n full sorts, and the loop awaits only resolved promises, so nothing else
 * in the process ran until it ended. After tens of thousands of commits (600 rotations on a loaded
 * machine past 10 minutes; 7,000 from the intake benchmark) the one thread Rotor shares with Azurite
 * stopped answering for many minutes: HTTP requests, Service Bus locks and the bench itself waited
 * (bench/README.md, "The 600-secret stall"). Here a deletion finds the extent through the index and
 * removes that document (LokiJS updates the index in place), and every `DELETES_PER_TURN` deletions
 * the event loop gets a turn.
 */
function deleteExtentsWithoutResorting(metadata: ExtentMetadataClass): void {
  if (patched.has(metadata.prototype)) return;
  patched.add(metadata.prototype);
  let deleted = 0;
  metadata.prototype.deleteExtent = async function deleteExtent(this: ExtentMetadataStore, extentId: string): Promise<void> {
    const extents = this.db.getCollection(this.EXTENTS_COLLECTION);
    const doc = extents?.findOne({ id: extentId }) ?? null;
    if (extents !== null && doc !== null) extents.remove(doc);
    deleted += 1;
    if (deleted % DELETES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  };
}
