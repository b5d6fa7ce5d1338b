import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createAdmin, type KeyVaultEmulatorAdmin } from './admin.js';
import { ADMIN_PREFIX, handleAdminRequest } from './admin-http.js';
import { backupKeyFor } from './backup.js';
import { createEmulatorClock } from './clock.js';
import { CallCounters } from './counters.js';
import { buildKeyVaultEvent, type KeyVaultEventSink, type KeyVaultSystemEvent } from './events.js';
import { FaultInjector } from './faults.js';
import { VaultStateFile } from './persistence.js';
import { createVaultRequestHandler } from './server.js';
import { defaultThrottleLimits, VaultThrottle } from './throttle.js';
import { defaultCertDir, loadOrCreateTls } from './tls.js';
import { SecretVault } from './vault.js';

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/** Options of `startKeyVaultEmulator`; every one has a default (shown). */
export const keyVaultEmulatorOptions = z.object({
  /** Vault name in events and in the state file. */
  vaultName: z.string().regex(/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, 'must be a Key Vault name (3-24 letters, digits, hyphens)').default('rotor-local'),
  /** Interface to listen on; loopback keeps the unauthenticated admin routes local. */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 = an ephemeral port, so suites can run in parallel. */
  port: z.number().int().min(0).max(65_535).default(0),
  /** `https` (default, self-signed CA) or `http` (clients then need `allowInsecureConnection`). */
  protocol: z.enum(['https', 'http']).default('https'),
  /** Where the generated CA and server certificate are cached. Default: `<tmpdir>/rotor-keyvault-emulator-tls`. */
  certDir: z.string().min(1).optional(),
  /** Persist secrets in this directory; unset = in memory only. */
  dataDir: z.string().min(1).optional(),
  /** Tenant named in the 401 challenge. */
  tenantId: z.string().min(1).default(ZERO_GUID),
  subscriptionId: z.string().min(1).default(ZERO_GUID),
  resourceGroup: z.string().min(1).default('rotor-local'),
  /** Soft-delete retention, 7-90 days as in Azure; under 90 shows as `CustomizedRecoverable+Purgeable`. */
  softDeleteRetentionDays: z.number().int().min(7).max(90).default(90),
  /**
   * How long a delete or recover stays in progress (emulator clock): Azure
   * takes seconds, during which `GET /deletedsecrets/{name}` (delete) or
   * `GET /secrets/{name}` (recover) answers 404, so a resumed SDK poller
   * finds the work still in progress. 0 = at once (tests that need it say so).
   */
  deletionDelayMs: z.number().int().min(0).default(2_000),
  /** `false` turns throttling off; otherwise Key Vault's limits, each overridable. */
  throttle: z
    .union([
      z.literal(false),
      z.object({
        windowMs: z.number().int().min(1).optional(),
        createsPerWindow: z.number().int().min(0).optional(),
        othersPerWindow: z.number().int().min(0).optional(),
      }),
    ])
    .default({}),
  /** Start the emulator clock at this time instead of now. */
  clockStart: z.union([z.date(), z.iso.datetime({ offset: true })]).optional(),
  /** How often real time passing is checked for expiry events; 0 = only on writes and clock moves. */
  expiryCheckIntervalMs: z.number().int().min(0).default(1_000),
  /** Events kept for `admin.events()`; the oldest are dropped beyond this. */
  eventLogLimit: z.number().int().min(0).default(10_000),
});

export type KeyVaultEmulatorOptions = z.input<typeof keyVaultEmulatorOptions> & {
  /** Receives every Key Vault event (the Event Grid emulator plugs in here). */
  onEvent?: KeyVaultEventSink;
  /** Random source for fraction-based faults; `Math.random` by default. */
  random?: () => number;
};

export interface KeyVaultEmulator {
  /** The vault URL, e.g. `https://127.0.0.1:51234`, to give to `SecretClient`. */
  readonly url: string;
  /** CA certificate to trust (PEM file); `undefined` over http. */
  readonly caCertPath: string | undefined;
  readonly vaultName: string;
  readonly admin: KeyVaultEmulatorAdmin;
  stop(): Promise<void>;
}

/** Starts a Key Vault secrets emulator. See emulators/keyvault/README.md. */
export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions = {}): Promise<KeyVaultEmulator> {
  const parsed = keyVaultEmulatorOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid Key Vault emulator option '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`);
  }
  const o = parsed.data;
  const clock = createEmulatorClock(o.clockStart === undefined ? undefined : new Date(o.clockStart));
  const stateFile = o.dataDir === undefined ? undefined : new VaultStateFile(o.dataDir, o.vaultName);
  const sinks = new Set<KeyVaultEventSink>(options.onEvent ? [options.onEvent] : []);
  const eventLog: KeyVaultSystemEvent[] = [];
  let vaultUrl = '';
  let loading = true;

  const vault: SecretVault = new SecretVault({
    // Known once the server listens (port 0); ids and events are only built after that.
    get vaultUrl() {
      return vaultUrl;
    },
    recoveryLevel: o.softDeleteRetentionDays === 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable',
    recoverableDays: o.softDeleteRetentionDays,
    clock,
    retentionDays: o.softDeleteRetentionDays,
    deletionDelayMs: o.deletionDelayMs,
    backupKey: backupKeyFor(o.subscriptionId),
    publish: (type, secret, version) => {
      const event = buildKeyVaultEvent(
        { vaultUrl, vaultName: o.vaultName, subscriptionId: o.subscriptionId, resourceGroup: o.resourceGroup },
        type,
        { name: secret.name, version: version.version, nbf: version.nbf, exp: version.exp },
        clock.now(),
      );
      eventLog.push(event);
      if (eventLog.length > o.eventLogLimit) eventLog.splice(0, eventLog.length - o.eventLogLimit);
      for (const sink of sinks) {
        try {
          sink(event);
        } catch (error) {
          // A failing subscriber must not fail the vault write that raised the event.
          console.error(`[keyvault-emulator] event sink failed: ${error instanceof Error ? error.message : 'unknown'}`);
        }
      }
    },
    changed: () => {
      if (!loading) stateFile?.save(vault.snapshot());
    },
  });
  if (stateFile) vault.load(stateFile.load());
  loading = false;

  const throttle = new VaultThrottle(o.throttle === false ? undefined : { ...defaultThrottleLimits, ...o.throttle });
  const faults = new FaultInjector(options.random ?? Math.random);
  const counters = new CallCounters();
  const admin = createAdmin({ clock, vault, faults, throttle, counters, eventLog, sinks });
  // Runs from timers and clock moves: a failure (say, the state file cannot be written) is logged, not thrown.
  const checkExpiry = (): void => {
    try {
      vault.checkExpiry();
    } catch (error) {
      console.error(`[keyvault-emulator] expiry check failed: ${error instanceof Error ? error.message : 'unknown'}`);
    }
  };
  clock.onChange((previousMs, nowMs) => {
    if (nowMs < previousMs) throttle.reset();
    checkExpiry();
  });

  const handleVault = createVaultRequestHandler({
    vault,
    clock,
    throttle,
    faults,
    counters,
    vaultUrl: () => vaultUrl,
    tenantId: o.tenantId,
  });
  let caCertPath: string | undefined;
  const describe = () => ({ vaultName: o.vaultName, url: vaultUrl, caCertPath: caCertPath ?? null, now: clock.now().toISOString(), secrets: vault.size });
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const handled =
      url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`)
        ? handleAdminRequest(admin, describe, req, res, url)
        : handleVault(req, res, url);
    handled.catch((error: unknown) => {
      console.error(`[keyvault-emulator] request failed: ${error instanceof Error ? error.message : 'unknown'}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };

  let server: Server;
  if (o.protocol === 'https') {
    const tls = await loadOrCreateTls(o.certDir ?? defaultCertDir(), [o.host]);
    caCertPath = tls.caCertPath;
    server = createHttpsServer({ key: tls.serverKey, cert: tls.serverCert }, listener);
  } else {
    server = createHttpServer(listener);
  }
  // Azure's front ends keep an idle connection for minutes; Node's 5-s default races a client that
  // reuses the socket as the server closes it ("socket hang up" on a busy machine).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  vaultUrl = `${o.protocol}://${hostInUrl}:${port}`;

  const timer =
    o.expiryCheckIntervalMs > 0 ? setInterval(checkExpiry, o.expiryCheckIntervalMs).unref() : undefined;

  return {
    url: vaultUrl,
    caCertPath,
    vaultName: o.vaultName,
    admin,
    stop: async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
