import type { Command } from './args.js';
import { ExitCode, BadResponseError } from './errors.js';
import { isBatchId, renderBatchEnd, renderBatchStart, renderProgressLine, type BatchView } from './batch.js';
import { renderExpiring } from './expiring.js';
import { renderConsumers, type ConsumersView } from './consumers.js';
import { terminalStatuses } from '../rotation/model.js';
import { paintStatus, renderDryRun, renderHistory, renderRotation, renderSecrets } from './render.js';
import { withoutPolicyInternals, type HistoryItem, type RotationView } from './wire.js';
import { POLL_INTERVAL_MS, printJson, type Context } from './context.js';

/** The commands, one function each: call the API, render or print JSON, return the exit code. */
export async function execute(command: Exclude<Command, { name: 'help' }>, ctx: Context): Promise<number> {
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

