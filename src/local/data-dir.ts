import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/**
 * The persistent local stack's data directory (`npm start -- --data-dir DIR`,
 * default `.rotor/data`): the Key Vault emulator's secrets, Azurite's blobs
 * (the ledger), the Service Bus emulator's queues, and `stack-identity.json`
 * with the ports and keys, so a stack started again (after Ctrl+C or
 * `kill -9`) is the same stack: the same vault URL in the ledger's records,
 * the same health URLs in the demo secrets' tags, the same function key.
 *
 *   DIR/stack-identity.json   ports, keys, demo secrets seeded here
 *   DIR/keyvault/             Key Vault emulator state (one JSON file)
 *   DIR/tls/                  the Key Vault emulator's CA and certificate
 *   DIR/servicebus/           Service Bus emulator snapshot (see its README, "Persistence")
 *   DIR/azurite/              Azurite blob metadata and extents
 */
const FORMAT = 'rotor-local-stack/1';

const port = z.number().int().min(1).max(65_535);
const identitySchema = z.object({
  format: z.literal(FORMAT),
  ports: z.object({
    host: port.optional(),
    keyVault: port.optional(),
    serviceBus: port.optional(),
    eventGrid: port.optional(),
    azurite: port.optional(),
    consumer: port.optional(),
  }),
  keys: z.object({ function: z.string().min(16), system: z.string().min(16), serviceBus: z.string().min(16), eventGridTopic: z.string().min(16) }),
  /** The demo secrets seeded in this directory; absent until they are. */
  seeded: z.array(z.object({ name: z.string(), version: z.string(), managed: z.boolean(), expiresOn: z.string().optional() })).optional(),
});
export type StackIdentity = z.infer<typeof identitySchema>;
export type StackPorts = StackIdentity['ports'];

export interface StackDataDir {
  /** Absolute path. */
  readonly path: string;
  /** An earlier stack ran in this directory: its state is being resumed. */
  readonly resumed: boolean;
  readonly identity: StackIdentity;
  readonly keyVaultDir: string;
  readonly tlsDir: string;
  readonly serviceBusDir: string;
  readonly azuriteDir: string;
  /** Saves the ports the stack got and what it seeded, for the next start. */
  record(update: { readonly ports?: StackPorts; readonly seeded?: StackIdentity['seeded'] }): void;
}

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

function newKey(): string {
  return randomBytes(24).toString('base64url');
}

/** Opens (creating it if need be) the data directory; `fresh` deletes what an earlier stack left there first. */
export function openDataDir(path: string, options: { readonly fresh?: boolean } = {}): StackDataDir {
  const root = resolve(path);
  if (options.fresh === true) rmSync(root, { recursive: true, force: true });
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new DataDirError(`--data-dir ${path}: cannot create it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  const file = join(root, 'stack-identity.json');
  let identity: StackIdentity;
  let resumed = false;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new DataDirError(`--data-dir ${path}: cannot read ${file}`, { cause: error });
  }
  if (text === undefined) {
    identity = { format: FORMAT, ports: {}, keys: { function: newKey(), system: newKey(), serviceBus: newKey(), eventGridTopic: newKey() } };
  } else {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = identitySchema.safeParse(json);
    if (!parsed.success) throw new DataDirError(`--data-dir ${path}: ${file} is not a Rotor stack identity; start with --fresh to begin again`);
    identity = parsed.data;
    resumed = true;
  }
  const save = (): void => {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  };
  save();
  return {
    path: root,
    resumed,
    get identity() {
      return identity;
    },
    keyVaultDir: join(root, 'keyvault'),
    tlsDir: join(root, 'tls'),
    serviceBusDir: join(root, 'servicebus'),
    azuriteDir: join(root, 'azurite'),
    record(update) {
      identity = {
        ...identity,
        ...(update.ports === undefined ? {} : { ports: { ...identity.ports, ...update.ports } }),
        ...(update.seeded === undefined ? {} : { seeded: update.seeded }),
      };
      save();
    },
  };
}

/** Retries a start that failed because a saved port is still held (a killed stack's port can take a moment to come free). */
export async function retryWhilePortBusy<T>(start: () => Promise<T>, attempts = 20, delayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** What each part of the stack is started with to use the data directory: its saved port, key and folder. */
export function persistentOptions(dir: StackDataDir | undefined) {
  if (dir === undefined) return undefined;
  const { ports, keys } = dir.identity;
  return {
    keyVault: { dataDir: dir.keyVaultDir, certDir: dir.tlsDir, port: ports.keyVault ?? 0 },
    eventGrid: { port: ports.eventGrid ?? 0, topics: [{ name: 'rotor-notifications', key1: keys.eventGridTopic }] },
    serviceBus: { dataDir: dir.serviceBusDir, port: ports.serviceBus ?? 0, sharedAccessKey: keys.serviceBus },
    azurite: { dataDir: dir.azuriteDir, port: ports.azurite ?? 0 },
    host: { keys: { function: keys.function, system: keys.system } },
    consumerPort: ports.consumer ?? 0,
  } as const;
}

/** The port in a URL, for recording what a part of the stack listens on. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}
