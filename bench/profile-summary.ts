/**
 * Self time of a `node --cpu-prof` profile by package or folder:
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 * node_modules/<package> (scoped packages whole), src/<folder> and
 * emulators/<folder> of this repository, node: internals, and V8's own
 * entries ((garbage collector), (program), (idle)).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly url: string; readonly functionName: string };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first = '', second = ''] = url.slice(modules + '/node_modules/'.length).split('/');
    return `node_modules/${first.startsWith('@') ? `${first}/${second}` : first}`;
  }
  // This repository's own files, by their first two folders (src/rotation, emulators/servicebus).
  const root = `file://${process.cwd()}/`;
  if (url.startsWith(root)) {
    const parts = url.slice(root.length).split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts.join('/');
  }
  return url.replace(/^file:\/\//, '');
}

/**
 * Who the time is for, roughly: in Azure, Rotor's process holds Rotor and the SDK clients; the
 * emulators and Azurite stand for services that run elsewhere. rhea serves both the Service Bus SDK
 * and the emulator, and node: internals (HTTP, TLS, streams) every side at once.
 */
function ownerOf(group: string): string {
  if (group.startsWith('src/')) return 'Rotor (src/)';
  if (group === 'node_modules/azurite' || group === 'node_modules/lokijs' || group === 'node_modules/uri-templates') return 'Azurite (ledger stand-in)';
  if (group.startsWith('emulators/') || group === 'node_modules/express') return 'emulators (Key Vault, Service Bus, Event Grid)';
  if (group === 'node_modules/rhea' || group === 'node_modules/rhea-promise') return 'AMQP (rhea: SDK and emulator)';
  if (group.startsWith('node_modules/@azure/') || group.startsWith('node_modules/@typespec/')) return 'Azure SDK clients';
  if (group === '(idle)') return '(idle)';
  if (group.startsWith('(') || group === 'node: internals') return 'runtime (node: internals, GC, native)';
  return 'other packages';
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const group = node === undefined ? '(unknown)' : groupOf(node.callFrame.url, node.callFrame.functionName);
    self.set(group, (self.get(group) ?? 0) + us);
  });
  const busy = total - (self.get('(idle)') ?? 0);
  console.log(`profile ${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle`);
  const owners = new Map<string, number>();
  for (const [group, us] of self) owners.set(ownerOf(group), (owners.get(ownerOf(group)) ?? 0) + us);
  for (const [owner, us] of [...owners].sort((a, b) => b[1] - a[1])) {
    if (owner !== '(idle)') console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}% of busy  ${(us / 1e6).toFixed(1).padStart(6)} s  ${owner}`);
  }
  console.log('by package or folder:');
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30));
  for (const [group, us] of rows) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}% of all  ${group === '(idle)' ? '      ' : `${((100 * us) / busy).toFixed(1).padStart(5)}%`} of busy  ${(us / 1e6).toFixed(1).padStart(6)} s  ${group}`);
  }
}

main();
