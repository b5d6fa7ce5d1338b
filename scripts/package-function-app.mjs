#!/usr/bin/env node
/**
 * Stages the Function App package: the files of the project that .funcignore
 * keeps (dist/ without the local-only parts, host.json, package.json,
 * package-lock.json) and node_modules with production dependencies only
 * (`npm ci --omit=dev --ignore-scripts` in the staging directory). azd
 * deploys the staging directory (azure.yaml: `dist: .package`, built by the
 * service's prepackage hook); `az functionapp deployment source config-zip`
 * users zip it themselves (docs/deploy.md).
 *
 *   node scripts/package-function-app.mjs [--root .] [--out .package] [--zip file.zip]
 *        [--funcignore path] [--keep-node-modules]
 *
 * --keep-node-modules copies the project's node_modules as it is instead of
 * installing production dependencies: what a package built from the project
 * directory contained before (used to measure the difference).
 * Prints one JSON line: { files, bytes, zipBytes? }.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ignore from 'ignore';

/** Paths (relative, forward slashes) of the files under `root` that `.funcignore` keeps; node_modules is left to the caller. */
export function packagedFiles(root, funcignoreText, { skip = [] } = {}) {
  const rules = ignore().add(funcignoreText);
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (path === '.git' || path === 'node_modules' || skip.includes(path)) continue;
      if (entry.isDirectory()) {
        if (!rules.ignores(`${path}/`)) walk(path);
      } else if (entry.isFile() && !rules.ignores(path)) {
        out.push(path);
      }
    }
  };
  walk('');
  return out.sort();
}

/** package.json as the package needs it: no scripts (a remote build must not run `tsc`), no devDependencies. */
export function productionManifest(manifest) {
  const { scripts: _scripts, devDependencies: _dev, allowScripts: _allow, ...rest } = manifest;
  return rest;
}

function countTree(dir) {
  let files = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        files += 1;
        bytes += statSync(full).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

export function stagePackage({ root, out, funcignore, keepNodeModules = false, zip }) {
  const rules = readFileSync(funcignore ?? join(root, '.funcignore'), 'utf8');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const outRelative = relative(root, out).split(sep).join('/');
  for (const path of packagedFiles(root, rules, { skip: outRelative.startsWith('..') ? [] : [outRelative] })) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    copyFileSync(join(root, path), join(out, path));
  }
  if (keepNodeModules) {
    execFileSync('cp', ['-a', join(root, 'node_modules'), join(out, 'node_modules')]);
  } else {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    writeFileSync(join(out, 'package.json'), `${JSON.stringify(productionManifest(manifest), null, 2)}\n`);
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: out,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // npm's own bookkeeping, not needed at run time.
    rmSync(join(out, 'node_modules', '.package-lock.json'), { force: true });
  }
  const summary = countTree(out);
  if (zip) {
    rmSync(zip, { force: true });
    execFileSync('zip', ['-qr', '-X', resolve(zip), '.'], { cwd: out });
    summary.zipBytes = statSync(zip).size;
  }
  return summary;
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const root = resolve(option('root') ?? '.');
  if (!existsSync(join(root, 'dist', 'functions'))) {
    console.error(`no ${join(root, 'dist', 'functions')}: run npm run build first`);
    process.exit(1);
  }
  const summary = stagePackage({
    root,
    out: resolve(option('out') ?? join(root, '.package')),
    funcignore: option('funcignore'),
    keepNodeModules: args.includes('--keep-node-modules'),
    zip: option('zip'),
  });
  console.log(JSON.stringify(summary));
}
