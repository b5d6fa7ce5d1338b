import { z } from 'zod';
import { parseCommandLine, type Command, type GlobalFlags } from './args.js';
import { createApiClient, displayUrl, type RotorApi } from './api-client.js';
import {
  ExitCode,
  isApiProblemError,
  isApiUnreachableError,
  isCliError,
  isUsageError,
  BadResponseError,
  UsageError,
  type ApiProblemError,
} from './errors.js';
import { isBatchId, renderBatchEnd, renderBatchStart, renderProgressLine, type BatchView } from './batch.js';
import { renderExpiring } from './expiring.js';
import { renderConsumers, type ConsumersView } from './consumers.js';
import { helpText } from './help.js';
import type { StackFile } from '../local/stack-file.js';
import { terminalStatuses } from '../rotation/model.js';
import { paintStatus, renderDryRun, renderHistory, renderProblem, renderRotation, renderSecrets, type Style } from './render.js';
import { withoutPolicyInternals, type HistoryItem, type RotationView } from './wire.js';

/**
 * `runCli(argv, io)`: the whole CLI minus the process. It reads no globals
 * (env, clock, network and sleep come in through `io`) and returns the exit
 * code, so the tests drive it against a real HTTP server and read every line.
 */

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly fetch?: typeof globalThis.fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Per-request limit; defaults to REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** The running local stack (`.rotor/stack.json`), used when no URL is given. */
  readonly stackFile?: () => StackFile | undefined;
  /** Standard input, for `secrets set --value-stdin`. */
  readonly readStdin?: () => Promise<string>;
}

/** The local host's address (`npm start`), so a fresh clone needs no configuration. */
export const DEFAULT_API_URL = 'http://127.0.0.1:7071/api';
/** How often `--wait` and `--watch` read the rotation. */
export const POLL_INTERVAL_MS = 2000;

const envSchema = z.object({
  ROTOR_API_URL: z.string().trim().min(1).optional().catch(undefined),
  ROTOR_API_KEY: z.string().min(1).optional().catch(undefined),
  NO_COLOR: z.string().optional(),
});

interface Context {
  readonly api: RotorApi;
  readonly globals: GlobalFlags;
  readonly style: Style;
  readonly out: (line?: string) => void;
  /** Writes without a newline (the progress line redrawn in place). */
  readonly write: (text: string) => void;
  readonly stdoutIsTTY: boolean;
  readonly err: (line: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  readonly apiUrl: string;
  readonly urlSource: ConnectionSource;
  readonly keySource: ConnectionSource | 'none';
  readonly stack: StackFile | undefined;
  readonly readStdin: () => Promise<string>;
}

/** Where the API URL or key came from, for hints that point at the right place. */
type ConnectionSource = '--url' | '--key' | 'ROTOR_API_URL' | 'ROTOR_API_KEY' | '?code=' | 'stack' | 'default';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line = ''): void => void io.stdout.write(`${line}\n`);
  const err = (line: string): void => void io.stderr.write(`${line}\n`);
  let parsedLine;
  try {
    parsedLine = parseCommandLine(argv);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    err(`rotor: ${error.message}`);
    err("Run 'rotor help' for the commands and flags.");
    return ExitCode.Usage;
  }
  const { globals, command } = parsedLine;
  if (command.name === 'help') {
    io.stdout.write(helpText(command.topic));
    return ExitCode.Ok;
  }

  const env = envSchema.parse(io.env);
  const now = io.now ?? ((): Date => new Date());
  let ctx: Context;
  try {
    const stack = io.stackFile?.();
    const { baseUrl, key, source, keySource } = connection(globals, env, stack);
    ctx = {
      api: createApiClient({
        baseUrl,
        ...(key === undefined ? {} : { key }),
        fetch: io.fetch ?? globalThis.fetch,
        ...(io.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: io.requestTimeoutMs }),
      }),
      globals,
      style: { color: !globals.noColor && env.NO_COLOR === undefined && io.stdout.isTTY === true, now: now() },
      out,
      write: (text: string) => void io.stdout.write(text),
      stdoutIsTTY: io.stdout.isTTY === true,
      err,
      sleep: io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      now,
      apiUrl: displayUrl(baseUrl),
      urlSource: source,
      keySource,
      stack,
      readStdin: io.readStdin ?? (() => Promise.reject(new UsageError('--value-stdin: no standard input here'))),
    };
  } catch (error) {
    if (!isUsageError(error)) throw error;
    err(`rotor: ${error.message}`);
    return ExitCode.Usage;
  }

  try {
    return await execute(command, ctx);
  } catch (error) {
    return reportFailure(error, ctx);
  }
}

/**
 * The API to talk to: --url, else ROTOR_API_URL, else the running local
 * stack (`.rotor/stack.json`, with its key), else the local host's default.
 */
function connection(
  globals: GlobalFlags,
  env: z.infer<typeof envSchema>,
  stack: StackFile | undefined,
): { baseUrl: URL; key: string | undefined; source: ConnectionSource; keySource: ConnectionSource | 'none' } {
  const fromStack = globals.url === undefined && env.ROTOR_API_URL === undefined ? stack?.api : undefined;
  const [text, source]: [string, ConnectionSource] =
    globals.url !== undefined
      ? [globals.url, '--url']
      : env.ROTOR_API_URL !== undefined
        ? [env.ROTOR_API_URL, 'ROTOR_API_URL']
        : fromStack !== undefined
          ? [fromStack.baseUrl, 'stack']
          : [DEFAULT_API_URL, 'default'];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${source === 'default' ? 'the API URL' : source} must be a URL such as https://func-rotor.azurewebsites.net/api`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source} must be an http:// or https:// URL`);
  // A URL copied from the portal may carry the key as `?code=`; it moves to the header.
  const code = url.searchParams.get('code') || undefined;
  const [key, keySource]: [string | undefined, ConnectionSource | 'none'] =
    globals.key !== undefined
      ? [globals.key, '--key']
      : env.ROTOR_API_KEY !== undefined
        ? [env.ROTOR_API_KEY, 'ROTOR_API_KEY']
        : code !== undefined
          ? [code, '?code=']
          : fromStack !== undefined
            ? [fromStack.functionKey, 'stack']
            : [undefined, 'none'];
  return { baseUrl: url, key, source, keySource };
}

async function execute(command: Exclude<Command, { name: 'help' }>, ctx: Context): Promise<number> {
  switch (command.name) {
    case 'rotate':
      return rotate(command, ctx);
    case 'status':
      return status(command, ctx);
    case 'history':
      return history(command, ctx);
    case 'secrets':
      return secrets(command, ctx);
    case 'rotate-batch':
      return rotateBatch(command, ctx);
    case 'cancel':
      return cancel(command, ctx);
    case 'expiring':
      return expiring(command, ctx);
    case 'consumers':
      return consumers(command, ctx);
  }
}

function printJson(ctx: Context, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}

async function rotate(command: Extract<Command, { name: 'rotate' }>, ctx: Context): Promise<number> {
  const answer = await ctx.api.startRotation({
    secret: command.secret,
    ...(command.vault === undefined ? {} : { vault: command.vault }),
    ...(command.reason === undefined ? {} : { reason: command.reason }),
    ...(command.dryRun ? { dryRun: true } : {}),
    ...(command.force === true ? { force: true } : {}),
  });
  if (answer.kind === 'dry-run') {
    if (ctx.globals.json) printJson(ctx, answer.raw);
    else renderDryRun(answer.value, ctx.style).forEach((line) => ctx.out(line));
    return answer.value.report.wouldRotate ? ExitCode.Ok : ExitCode.WouldNotRotate;
  }
  const { rotationId, outcome, secret } = answer.value;
  if (!command.wait) {
    if (ctx.globals.json) printJson(ctx, answer.raw);
    else {
      ctx.out(`${outcome === 'duplicate' ? 'Already started' : 'Started'}: rotation ${rotationId} of ${secret.name} in ${secret.vaultUrl}`);
      ctx.out(`Follow it with: rotor status ${rotationId} --watch`);
    }
    return ExitCode.Ok;
  }
  if (!ctx.globals.json) ctx.out(`${outcome === 'duplicate' ? 'Already started' : 'Started'}: rotation ${rotationId} of ${secret.name}; waiting up to ${formatTimeout(command.timeoutMs)}`);
  return follow(rotationId, command.timeoutMs, ctx);
}

async function status(command: Extract<Command, { name: 'status' }>, ctx: Context): Promise<number> {
  if (isBatchId(command.rotationId)) return batchStatus(command, ctx);
  if (command.watch) return follow(command.rotationId, command.timeoutMs, ctx);
  const { value, raw } = await ctx.api.getRotation(command.rotationId);
  if (ctx.globals.json) printJson(ctx, withoutPolicyInternals(raw));
  else renderRotation(value, { ...ctx.style, now: ctx.now() }).forEach((line) => ctx.out(line));
  return ExitCode.Ok;
}

/**
 * Polls the rotation until it ends or `timeoutMs` of polling has passed. The
 * budget counts the intervals slept, not the wall clock, so a slow API
 * lengthens the wait a little rather than cutting it short.
 */
async function follow(rotationId: string, timeoutMs: number, ctx: Context): Promise<number> {
  let waited = 0;
  let seenSteps = 0;
  let lastPhase = '';
  for (;;) {
    const { value, raw } = await ctx.api.getRotation(rotationId);
    const ended = (terminalStatuses as ReadonlySet<string>).has(value.status);
    if (!ctx.globals.json) {
      const style = { ...ctx.style, now: ctx.now() };
      for (const step of value.steps.slice(seenSteps)) {
        ctx.out(`  ${step.step} ${step.outcome}${step.detail === undefined ? '' : `: ${step.detail}`}${step.error === undefined ? '' : ` (${step.error.code})`}`);
      }
      seenSteps = value.steps.length;
      const phase = `${value.status} ${value.step} ${value.attempt ?? 1}`;
      if (!ended && phase !== lastPhase) ctx.out(`  ${paintStatus(style, value.status)}: next step ${value.step}${(value.attempt ?? 1) > 1 ? ` (attempt ${value.attempt})` : ''}`);
      lastPhase = phase;
    }
    if (ended) return finish(value, raw, ctx);
    if (waited >= timeoutMs) {
      if (ctx.globals.json) printJson(ctx, withoutPolicyInternals(raw));
      ctx.err(`rotor: rotation ${rotationId} is still ${value.status} at step ${value.step} after ${formatTimeout(timeoutMs)}; it goes on without the CLI.`);
      ctx.err(`Follow it with: rotor status ${rotationId} --watch`);
      return ExitCode.TimedOut;
    }
    const nap = Math.min(POLL_INTERVAL_MS, timeoutMs - waited);
    await ctx.sleep(nap);
    waited += nap;
  }
}

function finish(rotation: RotationView, raw: unknown, ctx: Context): number {
  if (ctx.globals.json) printJson(ctx, withoutPolicyInternals(raw));
  else {
    ctx.out();
    renderRotation(rotation, { ...ctx.style, now: ctx.now() }).forEach((line) => ctx.out(line));
  }
  return rotation.status === 'Completed' ? ExitCode.Ok : ExitCode.RotationNotCompleted;
}

async function history(command: Extract<Command, { name: 'history' }>, ctx: Context): Promise<number> {
  const want = command.limit === 'all' ? Number.POSITIVE_INFINITY : command.limit;
  const pageSize = Math.min(100, command.limit === 'all' ? 100 : command.limit);
  const items: HistoryItem[] = [];
  const rawItems: unknown[] = [];
  let first: { secret: unknown; raw: Record<string, unknown> } | undefined;
  let nextLink: string | undefined;
  const followed = new Set<string>();
  do {
    const page = await ctx.api.listRotations({
      secret: command.secret,
      ...(command.vault === undefined ? {} : { vault: command.vault }),
      limit: pageSize,
      ...(nextLink === undefined ? {} : { nextLink }),
    });
    first ??= { secret: page.value.secret, raw: page.raw as Record<string, unknown> };
    const rawPageItems = (page.raw as { items: unknown[] }).items;
    const room = want - items.length;
    items.push(...page.value.items.slice(0, room));
    rawItems.push(...rawPageItems.slice(0, room));
    nextLink = page.value.nextLink;
    // A link seen before would page forever; say so rather than hang.
    if (nextLink !== undefined && followed.has(nextLink)) throw new BadResponseError('The API answered the same nextLink twice; stopping');
    if (nextLink !== undefined) followed.add(nextLink);
  } while (nextLink !== undefined && items.length < want);

  const more = nextLink !== undefined;
  if (ctx.globals.json) {
    // One body in the API's shape; nextLink stays when rows were left out, so a script can go on.
    const { nextLink: _dropped, ...rest } = first?.raw ?? {};
    printJson(ctx, { ...rest, items: rawItems, ...(more ? { nextLink } : {}) });
    return ExitCode.Ok;
  }
  if (items.length === 0) {
    ctx.out(`No rotations of ${command.secret} yet.`);
    return ExitCode.Ok;
  }
  renderHistory(items, { ...ctx.style, now: ctx.now() }).forEach((line) => ctx.out(line));
  if (more) ctx.out(`(showing the newest ${items.length}; --limit N or --all for more)`);
  return ExitCode.Ok;
}

async function secrets(command: Extract<Command, { name: 'secrets' }>, ctx: Context): Promise<number> {
  if (command.set !== undefined) {
    // Loaded only here: the Key Vault SDK would slow every other command's start.
    const { setLocalSecret } = await import('./local-vault.js');
    return setLocalSecret(command.set, ctx);
  }
  const { value, raw } = await ctx.api.listSecrets(command.vault === undefined ? {} : { vault: command.vault });
  if (ctx.globals.json) printJson(ctx, raw);
  else if (value.items.length === 0) ctx.out('No secrets carry a Rotor policy (tag rotor-rotator).');
  else renderSecrets(value.items, { ...ctx.style, now: ctx.now() }).forEach((line) => ctx.out(line));
  return ExitCode.Ok;
}

async function rotateBatch(command: Extract<Command, { name: 'rotate-batch' }>, ctx: Context): Promise<number> {
  const answer = await ctx.api.startBatch({
    ...(command.vault === undefined ? {} : { vault: command.vault }),
    selector: command.selector,
    reason: command.reason,
    ...(command.dryRun ? { dryRun: true } : {}),
    ...(command.force ? { force: true } : {}),
  });
  if (command.dryRun) {
    if (ctx.globals.json) printJson(ctx, answer.raw);
    else renderBatchStart(answer.value).forEach((line) => ctx.out(line));
    return ExitCode.Ok;
  }
  if (!ctx.globals.json) {
    renderBatchStart(answer.value).forEach((line) => ctx.out(line));
    ctx.out(`Follow it later with: rotor status ${answer.value.id} --watch`);
  }
  return followBatch(answer.value.id, command.timeoutMs, ctx);
}

async function batchStatus(command: Extract<Command, { name: 'status' }>, ctx: Context): Promise<number> {
  if (command.watch) return followBatch(command.rotationId, command.timeoutMs, ctx);
  const { value, raw } = await ctx.api.getBatch(command.rotationId);
  if (ctx.globals.json) printJson(ctx, raw);
  else {
    ctx.out(renderProgressLine(value, ctx.style));
    (value.done === true ? renderBatchEnd(value) : renderBatchStart(value)).forEach((line) => ctx.out(line));
  }
  return ExitCode.Ok;
}

/**
 * Polls the batch until every rotation has ended, redrawing one progress line
 * on a terminal (a new line per change otherwise, so a CI log stays short).
 * Exit 0 only when every rotation Completed.
 */
async function followBatch(batchId: string, timeoutMs: number, ctx: Context): Promise<number> {
  const tty = ctx.stdoutIsTTY && !ctx.globals.json;
  let waited = 0;
  let last = '';
  let view: BatchView;
  let raw: unknown;
  for (;;) {
    ({ value: view, raw } = await ctx.api.getBatch(batchId));
    if (!ctx.globals.json) {
      const line = renderProgressLine(view, ctx.style);
      if (tty) ctx.write(`\r${line}\u001b[K`);
      else if (line !== last) ctx.out(line);
      last = line;
    }
    if (view.done === true) break;
    if (waited >= timeoutMs) {
      if (tty) ctx.out();
      if (ctx.globals.json) printJson(ctx, raw);
      ctx.err(`rotor: batch ${batchId} is still running after ${formatTimeout(timeoutMs)}; it goes on without the CLI.`);
      ctx.err(`Follow it with: rotor status ${batchId} --watch`);
      return ExitCode.TimedOut;
    }
    const nap = Math.min(POLL_INTERVAL_MS, timeoutMs - waited);
    await ctx.sleep(nap);
    waited += nap;
  }
  if (tty) ctx.out();
  if (ctx.globals.json) printJson(ctx, raw);
  else renderBatchEnd(view).forEach((line) => ctx.out(line));
  const notCompleted = view.items.some((i) => i.rotationId !== undefined && i.status !== 'Completed');
  return notCompleted ? ExitCode.RotationNotCompleted : ExitCode.Ok;
}

async function cancel(command: Extract<Command, { name: 'cancel' }>, ctx: Context): Promise<number> {
  const { value, raw } = await ctx.api.cancelRotation(command.rotationId, command.reason === undefined ? {} : { reason: command.reason });
  if (ctx.globals.json) printJson(ctx, raw);
  else {
    const how = value.via === 'rollback' ? 'it was promoted, so it rolls back' : 'it undoes what it did and ends Cancelled';
    ctx.out(`Cancelling rotation ${value.rotationId}: ${how}.`);
    ctx.out(`Follow it with: rotor status ${value.rotationId} --watch`);
  }
  return ExitCode.Ok;
}

async function expiring(command: Extract<Command, { name: 'expiring' }>, ctx: Context): Promise<number> {
  const { value, raw } = await ctx.api.listExpiring(command.within === undefined ? {} : { within: command.within });
  if (ctx.globals.json) printJson(ctx, raw);
  else if (value.items.length === 0) ctx.out(`Nothing expires within ${value.within}.`);
  else renderExpiring(value, { ...ctx.style, now: ctx.now() }).forEach((line) => ctx.out(line));
  // What could not be read is said on stderr, so an empty table is never mistaken for "all clear".
  for (const gap of value.gaps) ctx.err(`warning: ${gap.source}: ${gap.detail}`);
  return ExitCode.Ok;
}

async function consumers(command: Extract<Command, { name: 'consumers' }>, ctx: Context): Promise<number> {
  const target = { secret: command.secret, ...(command.vault === undefined ? {} : { vault: command.vault }) };
  let answer: { value: ConsumersView; raw: unknown } | undefined;
  switch (command.action) {
    case 'list':
      answer = await ctx.api.getConsumers(target);
      break;
    case 'set':
      answer = await ctx.api.putConsumers({ ...target, consumers: command.entries });
      break;
    case 'add':
    case 'remove': {
      const current = await ctx.api.getConsumers(target);
      const registered = current.value.registered?.entries ?? [];
      const next =
        command.action === 'add' ? [...registered, ...command.entries.filter((e) => !registered.includes(e))] : registered.filter((e) => !command.entries.includes(e));
      const missing = command.action === 'remove' ? command.entries.filter((e) => !registered.includes(e)) : [];
      if (missing.length > 0) ctx.err(`rotor: not in the registry (a tag entry is removed by editing the tag): ${missing.join(' ')}`);
      answer = await ctx.api.putConsumers({ ...target, consumers: next, ...(current.etag === undefined ? {} : { ifMatch: current.etag }) });
      break;
    }
    case 'clear':
      await ctx.api.deleteConsumers(target);
      if (ctx.globals.json) printJson(ctx, { secret: command.secret, registered: null });
      else ctx.out(`Registry of ${command.secret} cleared; consumers in its rotor-consumers tag still apply.`);
      return ExitCode.Ok;
  }
  if (ctx.globals.json) printJson(ctx, answer.raw);
  else renderConsumers(answer.value).forEach((line) => ctx.out(line));
  return ExitCode.Ok;
}

function formatTimeout(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

function reportFailure(error: unknown, ctx: Context): number {
  if (isApiProblemError(error)) {
    if (ctx.globals.json && error.body !== undefined) printJson(ctx, error.body);
    renderProblem(error).forEach((line) => ctx.err(line));
    hintFor(error, ctx);
    return ExitCode.ApiError;
  }
  if (isApiUnreachableError(error)) {
    const how =
      ctx.urlSource === '--url'
        ? 'check --url'
        : ctx.urlSource === 'ROTOR_API_URL'
          ? 'check ROTOR_API_URL'
          : ctx.urlSource === 'stack'
            ? `.rotor/stack.json names it, but the stack (pid ${ctx.stack?.pid ?? '?'}) does not answer: is npm start still running?`
            : 'start it with `npm start`, or set --url / ROTOR_API_URL';
    ctx.err(`error: cannot reach the Rotor API at ${error.url} (${error.reason}); ${how}`);
    return ExitCode.ApiError;
  }
  if (isUsageError(error)) {
    ctx.err(`rotor: ${error.message}`);
    return ExitCode.Usage;
  }
  if (isCliError(error)) {
    ctx.err(`error: ${error.message}`);
    return ExitCode.ApiError;
  }
  // A bug in the CLI itself: say so in one line, without a stack full of request details.
  ctx.err(`error: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
  return ExitCode.ApiError;
}

function hintFor(problem: ApiProblemError, ctx: Context): void {
  if (problem.activeRotationId !== undefined) ctx.err(`hint: follow it with: rotor status ${problem.activeRotationId} --watch`);
  else if ((problem.status === 401 || problem.status === 403) && ctx.keySource === 'none') {
    ctx.err(`hint: ${ctx.apiUrl} wants a function key: set ROTOR_API_KEY (or --key)`);
  } else if (problem.status === 401 || problem.status === 403) {
    const where = ctx.keySource === 'stack' ? '.rotor/stack.json' : ctx.keySource;
    ctx.err(`hint: ${ctx.apiUrl} did not accept the function key from ${where}: it is set, but not a key of this API.`);
    if (ctx.keySource === 'ROTOR_API_KEY' || ctx.keySource === '--key') {
      ctx.err('hint: npm start makes a new key on every run; without ROTOR_API_URL and ROTOR_API_KEY the CLI reads the running stack\'s own from .rotor/stack.json');
    }
  } else if (problem.status === 404 && problem.fields.length === 0) {
    ctx.err(`hint: is ${ctx.apiUrl} the API root (it ends in /api)?`);
  }
}

