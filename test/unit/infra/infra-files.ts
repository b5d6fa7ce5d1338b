import { fileURLToPath } from 'node:url';
import { readBicepTree, type BicepFile, type BicepResource } from '../../helpers/bicep.js';

/** Repository root, for reading infra/, azure.yaml and docs. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .bicep file under infra/, read once per test file. */
export function readInfra(): Map<string, BicepFile> {
  return readBicepTree(repoRoot, 'infra');
}

export function fileAt(files: Map<string, BicepFile>, path: string): BicepFile {
  const file = files.get(path);
  if (!file) throw new Error(`${path} is missing`);
  return file;
}

/** The single resource of `type` (optionally also matching `where`) in `file`. */
export function resourceOf(file: BicepFile, type: string, where: (r: BicepResource) => boolean = () => true): BicepResource {
  const found = file.resources.filter((r) => r.type === type && !r.existing && where(r));
  if (found.length !== 1) throw new Error(`${file.path}: expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Every resource of every file (declared or `existing`), with its file. */
export function allResources(files: Map<string, BicepFile>): { file: BicepFile; resource: BicepResource }[] {
  return [...files.values()].flatMap((file) => file.resources.map((resource) => ({ file, resource })));
}
