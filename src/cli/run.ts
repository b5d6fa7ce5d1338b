import { parseCommandLine } from './args.js';
import { createApiClient, displayUrl } from './api-client.js';
import { ExitCode, isApiProblemError, isApiUnreachableError, isCliError, isUsageError, UsageError, type ApiProblemError } from './errors.js';
import { helpText } from './help.js';
import { renderProblem } from './render.js';
import { execute } from './commands.js';
import { connection, envSchema, printJson, type CliIo, type Context } from './context.js';

export { DEFAULT_API_URL, POLL_INTERVAL_MS, type CliIo, type Output } from './context.js';

/**
 * `runCli(argv, io)`: the whole CLI minus the process. It reads no globals
 * (env, clock, network and sleep come in through `io`) and returns the exit
 * code, so the tests drive it against a real HTTP server and read every line.
 * Connection and context: ./context.ts; the commands: ./commands.ts.
 */

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

