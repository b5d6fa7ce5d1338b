import { z } from 'zod';
import { parsePacingTargets, type PacingTargets } from '../pacing/targets.js';
import { SecretValue } from '../secrecy/secret-value.js';
import { parseIsoDuration } from '../time/iso-duration.js';
import { ConfigurationError, type SettingProblem } from './errors.js';

/**
 * Every setting Rotor reads, in one place. The Bicep app settings, the
 * `local.settings.example.json` file and the infra tests are checked against
 * this catalogue, so a setting added here and forgotten there fails a test.
 *
 * `where`: `azure` settings are set by `infra/` on the Function App; `local`
 * ones only by the local stack (connection strings with keys never reach Azure);
 * `either` are optional everywhere and have a default.
 */
export const settingCatalogue = {
  ServiceBusConnection__fullyQualifiedNamespace: {
    where: 'azure',
    description: 'Service Bus namespace host for identity-based connections (binding `connection: ServiceBusConnection`).',
  },
  ServiceBusConnection: {
    where: 'local',
    description: 'Service Bus connection string; local emulator only.',
  },
  LedgerStorage__blobServiceUri: {
    where: 'azure',
    description: 'Blob service URI of the ledger storage account, identity-based.',
  },
  LedgerStorage: {
    where: 'local',
    description: 'Blob connection string of the ledger storage account; Azurite only.',
  },
  ROTOR_STEP_QUEUE: {
    where: 'azure',
    description: 'Name of the session-enabled Service Bus queue that carries rotation steps. Default `rotation-steps`.',
  },
  ROTOR_LEDGER_CONTAINER: {
    where: 'azure',
    description: 'Blob container holding rotation records, locks and the audit trail. Default `rotor-ledger`.',
  },
  ROTOR_ALLOWED_VAULTS: {
    where: 'azure',
    description: 'Comma-separated Key Vault URLs Rotor may rotate in (`https://kv-app.vault.azure.net`). Events from other vaults are ignored.',
  },
  ROTOR_NOTIFY_TOPIC_ENDPOINT: {
    where: 'azure',
    description: 'Event Grid topic endpoint for rotation notifications (CloudEvents). Unset: notifications are off.',
  },
  ROTOR_NOTIFY_TOPIC_KEY: {
    where: 'local',
    description: 'Access key for the notification topic; local simulator only (Azure uses the managed identity).',
  },
  ROTOR_SWEEP_SCHEDULE: {
    where: 'azure',
    description: 'Six-field NCRONTAB schedule of the sweep. Default every 15 minutes.',
  },
  ROTOR_EXPIRY_HORIZON: {
    where: 'either',
    description: 'ISO-8601 duration: the sweep rotates secrets expiring within it. Default `P30D`, Key Vault’s near-expiry horizon.',
  },
  ROTOR_EXPIRY_WARNINGS: {
    where: 'either',
    description: 'Comma-separated ISO-8601 durations: the sweep sends `Rotor.Expiry.Warning` once per object, version and threshold when an expiry comes within one. Default `P30D,P14D,P7D,P1D`.',
  },
  ROTOR_WATCH_APPLICATIONS: {
    where: 'either',
    description: 'Comma-separated application (client) ids whose app registration credentials the expiry radar watches, besides those named by `entra-app-secret` policies. Default none.',
  },
  ROTOR_STALL_AFTER: {
    where: 'either',
    description:
      'ISO-8601 duration: a running rotation whose next step message is this overdue has lost it (a crash between the record and the send), and the sweep sends it again. Keep it above the step queue’s lock duration. Default `PT10M`.',
  },
  ROTOR_MAX_STEP_ATTEMPTS: {
    where: 'either',
    description: 'Attempts of one step on transient errors before the rotation ends. Default 8.',
  },
  ROTOR_VAULT_BUDGET: {
    where: 'either',
    description:
      "Rotor's share of each vault's Key Vault limits (300 creates and 4,000 other secret calls per 10 s): a share for every vault and overrides per vault host, comma-separated, `off` for unpaced (`0.9,kv-shared.vault.azure.net=0.5`). Default `0.9`.",
  },
  ROTOR_LOG_LEVEL: {
    where: 'either',
    description: '`debug`, `info`, `warn` or `error`. Default `info`.',
  },
  ROTOR_CONSUMER_SIGNING_KEY: {
    where: 'either',
    description:
      'HMAC-SHA256 key signing the nudges sent to https consumers (`X-Rotor-Signature`, as webhook calls are signed). In Azure set it as a Key Vault reference. Unset: https consumers cannot be nudged, and a rotation that declares one rolls back naming the setting.',
  },
  AZURE_CLIENT_ID: {
    where: 'azure',
    description: 'Client id of the user-assigned managed identity Rotor authenticates with (`ManagedIdentityCredential`).',
  },
} as const satisfies Record<string, { where: 'azure' | 'local' | 'either'; description: string }>;

export type SettingName = keyof typeof settingCatalogue;

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const isoDuration = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO-8601 duration such as P30D or PT15M')
    .transform((v) => parseIsoDuration(v) as number);

const vaultUrl = z
  .url({ protocol: /^https?$/, error: 'must be a vault URL such as https://kv-app.vault.azure.net' })
  .transform((v) => new URL(v).origin);

const ncrontab = z
  .string()
  .trim()
  .default('0 */15 * * * *')
  .refine((v) => v.split(/\s+/).length === 6, 'must be a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week})');

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const environmentSchema = z.object({
  ServiceBusConnection__fullyQualifiedNamespace: optionalText,
  ServiceBusConnection: optionalText,
  LedgerStorage__blobServiceUri: optionalText.pipe(z.url({ error: 'must be a blob service URL' }).optional()),
  LedgerStorage: optionalText,
  ROTOR_STEP_QUEUE: z.string().trim().min(1).default('rotation-steps'),
  ROTOR_LEDGER_CONTAINER: z
    .string()
    .trim()
    .default('rotor-ledger')
    .refine((v) => /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(v), 'must be a valid blob container name (3-63 lowercase letters, digits, hyphens)'),
  ROTOR_ALLOWED_VAULTS: z
    .string({ error: 'is required: the Key Vault URLs Rotor may rotate in, comma-separated' })
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(vaultUrl).min(1, 'must name at least one vault URL')),
  ROTOR_NOTIFY_TOPIC_ENDPOINT: optionalText.pipe(z.url({ error: 'must be an Event Grid topic endpoint URL' }).optional()),
  ROTOR_NOTIFY_TOPIC_KEY: optionalText,
  ROTOR_SWEEP_SCHEDULE: ncrontab,
  ROTOR_EXPIRY_HORIZON: isoDuration('P30D'),
  ROTOR_EXPIRY_WARNINGS: z
    .string()
    .trim()
    .default('P30D,P14D,P7D,P1D')
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .refine((list) => list.length > 0, 'must name at least one duration, such as P30D,P7D')
    .refine((list) => list.every((d) => (parseIsoDuration(d) ?? 0) > 0), 'must be ISO-8601 durations longer than zero, comma-separated, such as P30D,P14D,P7D,P1D')
    .transform((list) => [...new Set(list.map((d) => parseIsoDuration(d) as number))].sort((a, b) => b - a)),
  ROTOR_WATCH_APPLICATIONS: z
    .string()
    .trim()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))
    .refine((list) => list.every((id) => guid.test(id)), 'must be application (client) ids, GUIDs, comma-separated')
    .transform((list) => [...new Set(list)]),
  ROTOR_STALL_AFTER: isoDuration('PT10M').refine((ms) => ms > 0, 'must be longer than zero'),
  ROTOR_MAX_STEP_ATTEMPTS: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(8),
  ROTOR_VAULT_BUDGET: z
    .string()
    .trim()
    .default('0.9')
    .transform((v, ctx) => {
      const parsed = parsePacingTargets(v);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    }),
  ROTOR_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'must be debug, info, warn or error' }).default('info'),
  ROTOR_CONSUMER_SIGNING_KEY: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  AZURE_CLIENT_ID: optionalText,
} satisfies Record<SettingName, z.ZodType>);

/** How Rotor reaches a service: a managed identity in Azure, a connection string locally. */
export type Connection =
  | { readonly kind: 'identity'; readonly endpoint: string }
  | { readonly kind: 'connectionString'; readonly connectionString: string };

export interface RotorSettings {
  readonly serviceBus: Connection;
  readonly stepQueue: string;
  readonly ledgerStorage: Connection;
  readonly ledgerContainer: string;
  readonly allowedVaults: readonly string[];
  readonly notifications:
    | { readonly enabled: false }
    | { readonly enabled: true; readonly endpoint: string; readonly key?: string };
  readonly sweepSchedule: string;
  readonly expiryHorizonMs: number;
  /** Expiry warning thresholds in milliseconds, widest first, no duplicates. */
  readonly expiryWarningsMs: readonly number[];
  /** Application (client) ids the expiry radar watches besides those of `entra-app-secret` policies; lower case. */
  readonly watchApplications: readonly string[];
  /** A running rotation whose current message is this overdue is resumed by the sweep. */
  readonly stallAfterMs: number;
  readonly maxStepAttempts: number;
  /** Rotor's share of each vault's Key Vault limits (src/pacing); absent: 0.9 everywhere. */
  readonly vaultBudget?: PacingTargets;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly managedIdentityClientId?: string;
  /** Signs nudges to https consumers; a SecretValue, so it never reaches a log. */
  readonly consumerSigningKey?: SecretValue;
}

function connection(
  problems: SettingProblem[],
  name: 'ServiceBusConnection' | 'LedgerStorage',
  identityKey: string,
  identityValue: string | undefined,
  connectionString: string | undefined,
): Connection {
  if (identityValue !== undefined) return { kind: 'identity', endpoint: identityValue };
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  problems.push({
    variable: `${identityKey} or ${name}`,
    message: 'is required: set the identity-based endpoint (Azure) or a connection string (local)',
  });
  return { kind: 'identity', endpoint: '' };
}

/**
 * Parses the environment once into Rotor's settings. A missing or malformed
 * setting throws a `ConfigurationError` naming every bad variable; values are
 * never echoed, because several of them are connection strings with keys.
 */
export function loadSettings(env: Readonly<Record<string, string | undefined>> = process.env): RotorSettings {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      message: issue.message,
    }));
    throw new ConfigurationError(problems);
  }
  const e = parsed.data;
  const problems: SettingProblem[] = [];
  const serviceBus = connection(
    problems,
    'ServiceBusConnection',
    'ServiceBusConnection__fullyQualifiedNamespace',
    e.ServiceBusConnection__fullyQualifiedNamespace,
    e.ServiceBusConnection,
  );
  const ledgerStorage = connection(
    problems,
    'LedgerStorage',
    'LedgerStorage__blobServiceUri',
    e.LedgerStorage__blobServiceUri,
    e.LedgerStorage,
  );
  if (problems.length > 0) throw new ConfigurationError(problems);

  return {
    serviceBus,
    stepQueue: e.ROTOR_STEP_QUEUE,
    ledgerStorage,
    ledgerContainer: e.ROTOR_LEDGER_CONTAINER,
    allowedVaults: e.ROTOR_ALLOWED_VAULTS,
    notifications:
      e.ROTOR_NOTIFY_TOPIC_ENDPOINT === undefined
        ? { enabled: false }
        : {
            enabled: true,
            endpoint: e.ROTOR_NOTIFY_TOPIC_ENDPOINT,
            ...(e.ROTOR_NOTIFY_TOPIC_KEY === undefined ? {} : { key: e.ROTOR_NOTIFY_TOPIC_KEY }),
          },
    sweepSchedule: e.ROTOR_SWEEP_SCHEDULE,
    expiryHorizonMs: e.ROTOR_EXPIRY_HORIZON,
    expiryWarningsMs: e.ROTOR_EXPIRY_WARNINGS,
    watchApplications: e.ROTOR_WATCH_APPLICATIONS,
    stallAfterMs: e.ROTOR_STALL_AFTER,
    maxStepAttempts: e.ROTOR_MAX_STEP_ATTEMPTS,
    vaultBudget: e.ROTOR_VAULT_BUDGET,
    logLevel: e.ROTOR_LOG_LEVEL,
    ...(e.AZURE_CLIENT_ID === undefined ? {} : { managedIdentityClientId: e.AZURE_CLIENT_ID }),
    ...(e.ROTOR_CONSUMER_SIGNING_KEY === undefined ? {} : { consumerSigningKey: SecretValue.from(e.ROTOR_CONSUMER_SIGNING_KEY) }),
  };
}

let cached: RotorSettings | undefined;

/** The process's settings, parsed on first use and kept. */
export function getSettings(): RotorSettings {
  cached ??= loadSettings();
  return cached;
}
