// Types for scripts/package-function-app.mjs (plain JavaScript so azd's hook runs it with node alone).
export function packagedFiles(root: string, funcignoreText: string, options?: { skip?: string[] }): string[];
export function productionManifest(manifest: Record<string, unknown>): Record<string, unknown>;
export function stagePackage(options: {
  root: string;
  out: string;
  funcignore?: string;
  keepNodeModules?: boolean;
  zip?: string;
}): { files: number; bytes: number; zipBytes?: number };
