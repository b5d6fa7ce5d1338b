/**
 * Regenerates test/fixtures/bicep-types/types.json: a trimmed snapshot of
 * Azure's published Bicep type data (github.com/Azure/bicep-types-az,
 * generated/<provider>/<namespace>/<api-version>/types.json) holding exactly
 * the resource type@apiVersion pairs that infra/ declares, and the types they
 * reach. test/helpers/bicep-types.ts validates every resource body against it.
 *
 * Usage (after adding a resource type or changing an API version in infra/):
 *   git clone --depth 1 <bicep-types-az> /tmp/bicep-types-az     # or any checkout / bare git dir of it
 *   npx tsx scripts/vendor-bicep-types.ts /tmp/bicep-types-az
 *
 * Descriptions are dropped (size); everything the validator reads (property
 * names and flags, literal and union values, discriminators, additional
 * properties, array item types, bounds) is kept as published.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBicepTree } from '../test/helpers/bicep.js';

interface Ref {
  $ref: string;
}
type PublishedType = { $type: string; [key: string]: unknown };

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const output = join(repoRoot, 'test/fixtures/bicep-types/types.json');

const source = process.argv[2];
if (!source) {
  console.error('usage: npx tsx scripts/vendor-bicep-types.ts <bicep-types-az checkout or git dir>');
  process.exit(2);
}

/** Reads files of the source, a work tree or a (bare) git directory. */
const sourceFiles = existsSync(join(source, 'generated'))
  ? {
      commit: tryGit(['-C', source, 'rev-parse', 'HEAD']),
      list: (dir: string): string[] => (existsSync(join(source, dir)) ? readdirSync(join(source, dir)) : []),
      read: (path: string): string | undefined => (existsSync(join(source, path)) ? readFileSync(join(source, path), 'utf8') : undefined),
    }
  : {
      commit: tryGit(['--git-dir', source, 'rev-parse', 'HEAD']),
      list: (dir: string): string[] =>
        (tryGit(['--git-dir', source, 'ls-tree', '--name-only', `HEAD:${dir}`]) ?? '').split('\n').filter(Boolean),
      read: (path: string): string | undefined => tryGit(['--git-dir', source, 'show', `HEAD:${path}`]),
    };

function tryGit(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

// Pairs used by infra/, declared or `existing` (an existing resource's body is validated too).
const pairs = new Set<string>();
for (const file of readBicepTree(repoRoot, 'infra').values()) {
  for (const r of file.resources) pairs.add(`${r.type}@${r.apiVersion}`);
}

const providers = sourceFiles.list('generated');
const snapshot: { source: string; commit: string | undefined; resources: Record<string, number>; types: PublishedType[] } = {
  source: 'Azure/bicep-types-az generated/*/types.json',
  commit: sourceFiles.commit,
  resources: {},
  types: [],
};
const missing: string[] = [];

for (const pair of [...pairs].sort()) {
  const at = pair.lastIndexOf('@');
  const [type, apiVersion] = [pair.slice(0, at), pair.slice(at + 1)];
  const namespace = type.split('/')[0]!.toLowerCase();
  let found: { types: PublishedType[]; index: number } | undefined;
  for (const provider of providers) {
    const text = sourceFiles.read(`generated/${provider}/${namespace}/${apiVersion}/types.json`);
    if (text === undefined) continue;
    const types = JSON.parse(text) as PublishedType[];
    // Prefer a writable declaration (the same name can appear read-only, e.g. list results).
    const candidates = types
      .map((t, index) => ({ t, index }))
      .filter(({ t }) => t.$type === 'ResourceType' && String(t.name).toLowerCase() === pair.toLowerCase());
    const best = candidates.find(({ t }) => t.writableScopes !== 0) ?? candidates[0];
    if (best) {
      found = { types, index: best.index };
      if (best.t.writableScopes !== 0) break;
    }
  }
  if (!found) {
    missing.push(pair);
    continue;
  }
  snapshot.resources[pair] = copyType(found.types, found.index, new Map());
}

/** Copies type `index` of `types` and everything it references into the snapshot; returns its new index. */
function copyType(types: PublishedType[], index: number, copied: Map<number, number>): number {
  const done = copied.get(index);
  if (done !== undefined) return done;
  const at = snapshot.types.length;
  copied.set(index, at);
  snapshot.types.push({ $type: 'Placeholder' });
  const remap = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(remap);
    if (value && typeof value === 'object') {
      const ref = (value as Ref).$ref;
      if (typeof ref === 'string' && ref.startsWith('#/')) return { $ref: `#/${copyType(types, Number(ref.slice(2)), copied)}` };
      const out: Record<string, unknown> = {};
      // Drop doc strings only: a property *named* `description` (roleDefinitions, …) is an object and stays.
      for (const [k, v] of Object.entries(value)) if (!(k === 'description' && typeof v === 'string')) out[k] = remap(v);
      return out;
    }
    return value;
  };
  const original = types[index]!;
  if (original.$type === 'ResourceType' || original.$type === 'ObjectType') {
    // Resource functions (listKeys...) are not part of a body.
    const { functions: _functions, ...rest } = original;
    snapshot.types[at] = remap(rest) as PublishedType;
  } else {
    snapshot.types[at] = remap(original) as PublishedType;
  }
  return at;
}

if (missing.length > 0) {
  console.error(`not found in ${source}: ${missing.join(', ')}`);
  process.exit(1);
}
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, `${JSON.stringify(snapshot, null, 1)}\n`);
console.log(`${Object.keys(snapshot.resources).length} resource types, ${snapshot.types.length} types -> ${output}`);
