import { z } from 'zod';
import { UsageError } from './errors.js';

/**
 * `rotor consumers list|add|remove|set|clear <secret> [entry...] [--vault URL]`:
 * a secret's declared consumers. `add` and `remove` read the list and write
 * it back conditionally (If-Match), so two operators editing at once do not
 * lose each other's entries. The API checks each entry and names a bad one.
 */

export const ConsumersAction = {
  List: 'list',
  Add: 'add',
  Remove: 'remove',
  Set: 'set',
  Clear: 'clear',
} as const;
export type ConsumersAction = (typeof ConsumersAction)[keyof typeof ConsumersAction];

export interface ConsumersCommand {
  readonly name: 'consumers';
  readonly action: ConsumersAction;
  readonly secret: string;
  readonly vault?: string;
  readonly entries: readonly string[];
}

const actions = new Set<string>(Object.values(ConsumersAction));

export function buildConsumersCommand(positionals: readonly string[], vault: string | undefined): ConsumersCommand {
  const [action, secret, ...entries] = positionals;
  if (action === undefined || !actions.has(action)) {
    throw new UsageError(`consumers needs an action: rotor consumers ${[...actions].join('|')} <secret> [entry...]${action === undefined ? '' : `; got '${action}'`}`);
  }
  if (secret === undefined || secret.trim() === '') throw new UsageError(`consumers ${action} needs a secret name: rotor consumers ${action} <secret>`);
  const typed = action as ConsumersAction;
  if ((typed === 'add' || typed === 'remove') && entries.length === 0) {
    throw new UsageError(`consumers ${typed} needs at least one entry: appservice:<resource id>, containerapp:<resource id> or an https:// URL`);
  }
  if ((typed === 'list' || typed === 'clear') && entries.length > 0) throw new UsageError(`consumers ${typed} takes no entries, got: ${entries.join(' ')}`);
  return { name: 'consumers', action: typed, secret, ...(vault === undefined ? {} : { vault }), entries };
}

export const consumersSchema = z.looseObject({
  secret: z.looseObject({ vaultUrl: z.string(), name: z.string() }),
  secretExists: z.boolean().optional(),
  tag: z.looseObject({ name: z.string(), entries: z.array(z.string()), problems: z.array(z.string()).optional() }),
  registered: z.looseObject({ entries: z.array(z.string()), updatedAt: z.string() }).nullable(),
  consumers: z.array(z.looseObject({ entry: z.string(), kind: z.string(), sources: z.array(z.string()) })),
});
export type ConsumersView = z.infer<typeof consumersSchema>;

/** The list as an operator reads it: each consumer with where it is declared. */
export function renderConsumers(view: ConsumersView): string[] {
  const lines: string[] = [];
  const where = `${view.secret.name} in ${view.secret.vaultUrl}`;
  if (view.secretExists === false) lines.push(`Note: ${where} does not exist (yet); its registry is kept anyway.`);
  if (view.consumers.length === 0) lines.push(`No consumers declared for ${where}.`);
  else {
    lines.push(`Consumers of ${where} (${view.consumers.length}):`);
    for (const consumer of view.consumers) lines.push(`  ${consumer.entry}  [${consumer.sources.join(', ')}]`);
  }
  for (const problem of view.tag.problems ?? []) lines.push(`Tag ${view.tag.name} problem: ${problem}`);
  if (view.registered !== null) lines.push(`Registry updated ${view.registered.updatedAt}.`);
  return lines;
}
