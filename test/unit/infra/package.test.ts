import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ignore from 'ignore';
import { afterAll, describe, expect, it } from 'vitest';
import { packagedFiles, productionManifest } from '../../../scripts/package-function-app.mjs';
import { repoRoot } from './infra-files.js';

// What the Function App package holds: dist/ (without what never runs in
// Azure), host.json, package.json, package-lock.json, and production
// dependencies. .funcignore decides, for azd (through
// scripts/package-function-app.mjs) and Core Tools alike.

const funcignore = readFileSync(join(repoRoot, '.funcignore'), 'utf8');
const patterns = funcignore.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

/** A project tree with one file of each kind the repository has. */
const tree = [
  'dist/functions/rotationSteps.js',
  'dist/functions/rotationSteps.js.map',
  'dist/src/rotation/engine.js',
  'dist/src/test/helper-named-like-a-folder.js',
  'dist/src/local/host.js',
  'dist/src/cli/main.js',
  'dist/emulators/keyvault/server.js',
  'functions/rotationSteps.ts',
  'src/rotation/engine.ts',
  'emulators/keyvault/server.ts',
  'examples/webhook-receiver/main.ts',
  'test/unit/x.test.ts',
  'bench/run.ts',
  'docs/deploy.md',
  'infra/main.bicep',
  'scripts/package-function-app.mjs',
  '.ci/run',
  '.rotor/stack.json',
  '.package/dist/functions/old.js',
  '.azure/env/.env',
  'coverage/index.html',
  'local.settings.json',
  'local.settings.example.json',
  'azure.yaml',
  'README.md',
  'tsconfig.json',
  'vitest.config.ts',
  'eslint.config.mjs',
  'rotor.zip',
  'host.json',
  'package.json',
  'package-lock.json',
];
const root = mkdtempSync(join(tmpdir(), 'rotor-package-'));
for (const path of tree) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), 'x');
}
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('.funcignore', () => {
  it('anchors every pattern to the project root', () => {
    expect(patterns.filter((p) => !/^!?\//.test(p))).toEqual([]);
  });

  it('keeps the compiled app and its manifest, and nothing else', () => {
    expect(packagedFiles(root, funcignore)).toEqual([
      'dist/functions/rotationSteps.js',
      'dist/src/rotation/engine.js',
      'dist/src/test/helper-named-like-a-folder.js',
      'host.json',
      'package-lock.json',
      'package.json',
    ]);
  });

  it.each(['node_modules/pg/lib/index.js', 'node_modules/some-package/test/fixture.js', 'node_modules/some-package/docs/a.md'])(
    'keeps %s (patterns do not reach into dependencies)',
    (path) => {
      expect(ignore().add(funcignore).ignores(path)).toBe(false);
    },
  );

  it('is what the old, unanchored patterns got wrong', () => {
    const unanchored = ignore().add(['test/', 'docs/', 'bench/']);

    expect(unanchored.ignores('node_modules/some-package/test/fixture.js')).toBe(true);
  });
});

describe('the packaged package.json', () => {
  it('has no scripts (a remote build must not run tsc) and no devDependencies', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    const packaged = productionManifest(manifest);

    expect(Object.keys(packaged)).not.toContain('scripts');
    expect(Object.keys(packaged)).not.toContain('devDependencies');
    expect(packaged.dependencies).toEqual(manifest.dependencies);
    expect(packaged.main).toBe('dist/functions/*.js');
  });
});

describe('azure.yaml', () => {
  const yaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');

  it('deploys the staged package, built by the service prepackage hook', () => {
    expect(yaml).toMatch(/^ {4}dist: \.package$/m);
    expect(yaml).toMatch(/^ {6}prepackage:\n(?: {8}.*\n)*? {8}run: npm run build && node scripts\/package-function-app\.mjs --out \.package$/m);
  });
});
