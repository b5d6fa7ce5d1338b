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
