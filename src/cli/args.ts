import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseIsoDuration } from '../time/iso-duration.js';
import { buildConsumersCommand, type ConsumersCommand } from './consumers.js';
import { UsageError } from './errors.js';

/**
 * The command line, parsed into one typed command. Every mistake is a
 * UsageError that names the command or flag, so the operator fixes it without
 * reading the help text twice.
 */

export const CommandName = {
  Rotate: 'rotate',
  Status: 'status',
  History: 'history',
  Secrets: 'secrets',
  Cancel: 'cancel',
  Expiring: 'expiring',
  Consumers: 'consumers',
  Help: 'help',
} as const;
export type CommandName = (typeof CommandName)[keyof typeof CommandName];

export interface GlobalFlags {
  readonly url: string | undefined;
  readonly key: string | undefined;
  readonly json: boolean;
  readonly noColor: boolean;
}

export type Command =
  | { readonly name: 'rotate'; readonly secret: string; readonly vault?: string; readonly reason?: string; readonly dryRun: boolean; readonly wait: boolean; readonly timeoutMs: number; readonly force?: boolean }
  | { readonly name: 'status'; readonly rotationId: string; readonly watch: boolean; readonly timeoutMs: number }
  | { readonly name: 'history'; readonly secret: string; readonly vault?: string; readonly limit: number | 'all' }
  | { readonly name: 'secrets'; readonly vault?: string; readonly set?: LocalSecretSpec }
  | BatchRotateCommand
  | { readonly name: 'cancel'; readonly rotationId: string; readonly reason?: string }
  | { readonly name: 'expiring'; readonly within?: string }
  | ConsumersCommand
  | { readonly name: 'help'; readonly topic?: CommandName };

/** `rotor secrets set NAME ...`: a secret written straight into the local stack's vault. */
export interface LocalSecretSpec {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  /** From now; absent: no expiry. */
  readonly expiresInMs?: number;
  /** Read the value from standard input; otherwise a random one is generated. */
  readonly valueFromStdin: boolean;
  readonly contentType?: string;
}


/** `rotor rotate --all | --tag K=V ... --reason TEXT`: the incident batch, followed with a progress bar. */
export interface BatchRotateCommand {
  readonly name: 'rotate-batch';
  readonly vault?: string;
  readonly selector: 'all' | { readonly tags: Readonly<Record<string, string>> };
  readonly reason: string;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly timeoutMs: number;
}

/** How long a batch is followed unless told otherwise: hundreds of rotations, paced under the vault's throttle. */
export const DEFAULT_BATCH_TIMEOUT_MS = 60 * 60_000;

export interface ParsedCommandLine {
  readonly globals: GlobalFlags;
  readonly command: Command;
}

/** How long `--wait` and `--watch` follow a rotation unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 15 * 60_000;
/** Rows `history` shows unless told otherwise; the API's page size caps at 100. */
export const DEFAULT_HISTORY_LIMIT = 20;

type Options = NonNullable<ParseArgsConfig['options']>;

const globalOptions = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const commandOptions = {
  rotate: {
    vault: { type: 'string' },
    reason: { type: 'string' },
    'dry-run': { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    all: { type: 'boolean' },
    tag: { type: 'string', multiple: true },
    force: { type: 'boolean' },
  },
  status: { watch: { type: 'boolean' }, timeout: { type: 'string' } },
  history: { vault: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  secrets: {
    vault: { type: 'string' },
    tag: { type: 'string', multiple: true },
    expires: { type: 'string' },
    'value-stdin': { type: 'boolean' },
    'content-type': { type: 'string' },
  },
  cancel: { reason: { type: 'string' } },
  expiring: { within: { type: 'string' } },
  consumers: { vault: { type: 'string' } },
  help: {},
} as const satisfies Record<CommandName, Options>;

const commandNames = new Set<string>(Object.values(CommandName));

function isCommandName(text: string): text is CommandName {
  return commandNames.has(text);
}

/** The first word that is neither a flag nor the value of a global flag that takes one. */
function findCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') return argv[i + 1];
    if (arg === '--url' || arg === '--key') {
      i += 1;
      continue;
    }
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const word = findCommand(argv);
  if (word !== undefined && !isCommandName(word)) {
    throw new UsageError(`unknown command '${word}'; commands: ${[...commandNames].join(', ')}`);
  }
  const name: CommandName = word ?? CommandName.Help;
  const options: Options = { ...globalOptions, ...commandOptions[name] };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    // The option set depends on the command, so the values are typed loosely and read through stringFlag.
    const result = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    parsed = { values: result.values as Record<string, string | boolean | string[] | undefined>, positionals: result.positionals };
  } catch (error) {
    throw usageFromParseArgs(error, name);
  }
  const { values } = parsed;
  const positionals = parsed.positionals.slice(word === undefined ? 0 : 1);
  const globals: GlobalFlags = {
    url: stringFlag(values.url),
    key: stringFlag(values.key),
    json: values.json === true,
    noColor: values['no-color'] === true,
  };
  if (values.help === true) return { globals, command: { name: 'help', ...(word === undefined ? {} : { topic: name }) } };
  if (word === undefined) {
    // Bare `rotor` (possibly with globals only) is a usage mistake, answered with the help text.
    throw new UsageError('a command is required');
  }
  return { globals, command: buildCommand(name, values, positionals) };
}

function buildCommand(name: CommandName, values: Record<string, string | boolean | string[] | undefined>, positionals: readonly string[]): Command {
  const vault = stringFlag(values.vault);
  const vaultPart = vault === undefined ? {} : { vault: checkVault(vault) };
  switch (name) {
    case 'rotate': {
      if (values.all === true || values.tag !== undefined) return batchRotateCommand(values, positionals, vaultPart);
      const secret = onePositional(name, positionals, 'a secret name');
      const dryRun = values['dry-run'] === true;
      const wait = values.wait === true;
      if (dryRun && wait) throw new UsageError('--wait has nothing to wait for with --dry-run: a dry run starts no rotation');
      if (values.timeout !== undefined && !wait) throw new UsageError('--timeout applies only with --wait');
      const reason = stringFlag(values.reason);
      return { name, secret, ...vaultPart, ...(reason === undefined ? {} : { reason }), dryRun, wait, timeoutMs: timeoutOf(values.timeout), ...(values.force === true ? { force: true } : {}) };
    }
    case 'status': {
      const rotationId = onePositional(name, positionals, 'a rotation id');
      const watch = values.watch === true;
      if (values.timeout !== undefined && !watch) throw new UsageError('--timeout applies only with --watch');
      return { name, rotationId, watch, timeoutMs: timeoutOf(values.timeout) };
    }
    case 'history': {
      const secret = onePositional(name, positionals, 'a secret name');
      const all = values.all === true;
      if (all && values.limit !== undefined) throw new UsageError('--all and --limit exclude each other: --all lists every rotation');
      return { name, secret, ...vaultPart, limit: all ? 'all' : limitOf(values.limit) };
    }
    case 'secrets': {
      const setOnly = ['tag', 'expires', 'value-stdin', 'content-type'].filter((f) => values[f] !== undefined);
      if (positionals[0] !== 'set') {
        noPositionals(name, positionals);
        if (setOnly.length > 0) throw new UsageError(`--${setOnly[0]} applies only to 'rotor secrets set NAME'`);
        return { name, ...vaultPart };
      }
      if (vault !== undefined) throw new UsageError('secrets set writes to the local stack\'s vault; --vault does not apply');
      return { name, set: localSecretSpec(positionals.slice(1), values) };
    }
    case 'cancel': {
      const rotationId = onePositional(name, positionals, 'a rotation id');
      const reason = stringFlag(values.reason);
      return { name, rotationId, ...(reason === undefined ? {} : { reason }) };
    }
    case 'expiring': {
      noPositionals(name, positionals);
      const within = stringFlag(values.within);
      if (within !== undefined && !((parseIsoDuration(within) ?? 0) > 0)) throw new UsageError(`--within must be an ISO-8601 duration such as P30D or PT12H, got '${within}'`);
      return { name, ...(within === undefined ? {} : { within: within.trim().toUpperCase() }) };
    }
    case 'consumers':
      return buildConsumersCommand(positionals, vaultPart.vault);
    case 'help': {
      const [topic, ...rest] = positionals;
      if (rest.length > 0) throw new UsageError(`help takes at most one command name, got: ${positionals.join(' ')}`);
      if (topic === undefined) return { name };
      if (!isCommandName(topic)) throw new UsageError(`help: unknown command '${topic}'; commands: ${[...commandNames].join(', ')}`);
      return { name, topic };
    }
  }
}

function batchRotateCommand(
  values: Record<string, unknown>,
  positionals: readonly string[],
  vaultPart: { readonly vault?: string },
): BatchRotateCommand {
  const tagPairs = Array.isArray(values.tag) ? (values.tag as string[]) : [];
  if (values.all === true && tagPairs.length > 0) throw new UsageError('--all and --tag exclude each other: --all rotates every managed secret of the vault');
  if (positionals.length > 0) throw new UsageError(`a batch selects secrets with --all or --tag, not by name; got: ${positionals.join(' ')}`);
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (reason === '') throw new UsageError('a batch needs --reason TEXT: why everything is rotated now (an incident, a ticket)');
  if (values.wait === true && values['dry-run'] === true) throw new UsageError('--wait has nothing to wait for with --dry-run: a dry run starts no rotation');
  const tags: Record<string, string> = {};
  for (const pair of tagPairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag takes KEY=VALUE, got '${pair}'`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    name: 'rotate-batch',
    ...vaultPart,
    selector: values.all === true ? 'all' : { tags },
    reason,
    dryRun: values['dry-run'] === true,
    force: values.force === true,
    timeoutMs: typeof values.timeout === 'string' ? timeoutOf(values.timeout) : DEFAULT_BATCH_TIMEOUT_MS,
  };
}

const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

function localSecretSpec(positionals: readonly string[], values: Record<string, string | boolean | string[] | undefined>): LocalSecretSpec {
  const [secretName, ...rest] = positionals;
  if (secretName === undefined) throw new UsageError('secrets set needs a secret name: rotor secrets set <name> --tag rotor-rotator=random');
  if (rest.length > 0) throw new UsageError(`secrets set takes one secret name, got extra: ${rest.join(' ')}`);
  if (!SECRET_NAME.test(secretName)) throw new UsageError(`'${secretName}' is not a Key Vault secret name: 1 to 127 letters, digits and hyphens`);
  const tags: Record<string, string> = {};
  const given = values.tag;
  for (const pair of Array.isArray(given) ? given : []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag takes KEY=VALUE, got '${pair}'`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (Object.keys(tags).length > 15) throw new UsageError(`Key Vault allows 15 tags per secret, got ${Object.keys(tags).length}`);
  const expires = stringFlag(values.expires);
  let expiresInMs: number | undefined;
  if (expires !== undefined) {
    expiresInMs = parseDuration(expires);
    if (expiresInMs === undefined || expiresInMs <= 0) throw new UsageError(`--expires must be a duration from now such as P7D, 90m or 48h, got '${expires}'`);
  }
  const contentType = stringFlag(values['content-type']);
  return {
    name: secretName,
    tags,
    ...(expiresInMs === undefined ? {} : { expiresInMs }),
    valueFromStdin: values['value-stdin'] === true,
    ...(contentType === undefined ? {} : { contentType }),
  };
}

function stringFlag(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function onePositional(name: CommandName, positionals: readonly string[], what: string): string {
  const [first, ...rest] = positionals;
  if (first === undefined || first.trim() === '') throw new UsageError(`${name} needs ${what}: rotor ${name} <${what.replace(/^an? /, '').replace(' ', '-')}>`);
  if (rest.length > 0) throw new UsageError(`${name} takes one ${what.replace(/^an? /, '')}, got extra: ${rest.join(' ')}`);
  return first;
}

function noPositionals(name: CommandName, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`${name} takes no arguments, got: ${positionals.join(' ')}`);
}

function checkVault(vault: string): string {
  let url: URL;
  try {
    url = new URL(vault);
  } catch {
    throw new UsageError(`--vault must be a vault URL such as https://myvault.vault.azure.net, got '${vault}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--vault must be an https:// URL, got '${vault}'`);
  return vault;
}

function limitOf(value: string | boolean | string[] | undefined): number {
  if (typeof value !== 'string') return DEFAULT_HISTORY_LIMIT;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new UsageError(`--limit must be a whole number of at least 1, got '${value}'`);
  return Number(value);
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `1h30m`, a bare number of seconds, or ISO-8601 (`PT5M`). */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (/^(\d+(ms|s|m|h))+$/i.test(trimmed)) {
    let total = 0;
    for (const m of trimmed.toLowerCase().matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(m[1]) * (UNITS_MS[m[2] ?? 's'] ?? 0);
    return total;
  }
  return parseIsoDuration(trimmed);
}

function timeoutOf(value: string | boolean | string[] | undefined): number {
  if (typeof value !== 'string') return DEFAULT_TIMEOUT_MS;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new UsageError(`--timeout must be a duration such as 90s, 10m, 1h or PT10M, got '${value}'`);
  return ms;
}

/** parseArgs' messages mention placing arguments after `--`; an operator needs the flag and the command. */
function usageFromParseArgs(error: unknown, name: CommandName): UsageError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown flag ${flag} for 'rotor ${name}' (see rotor help ${name})`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return message.includes('does not take') ? new UsageError(`${flag} takes no value`) : new UsageError(`${flag} needs a value`);
  }
  return new UsageError(message);
}
