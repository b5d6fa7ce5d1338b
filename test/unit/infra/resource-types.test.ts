import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBicep } from '../../helpers/bicep.js';
import { formatProblem, loadTypeSnapshot, validateModuleParams, validateResourceBodies } from '../../helpers/bicep-types.js';
import { readInfra, repoRoot } from './infra-files.js';

// Every resource body under infra/ against Azure's published Bicep type data
// (Azure/bicep-types-az, vendored for the type@apiVersion pairs in use by
// scripts/vendor-bicep-types.ts), and every module call against the module's
// parameters. A misspelled or mis-cased property, an enum value Azure does
// not know, a read-only property set: each fails here, as the Bicep compiler
// or the deployment would.

const files = readInfra();
const snapshot = loadTypeSnapshot();

describe('resource bodies', () => {
  const byFile = [...files.values()].map((file) => [file.path, file] as const);

  it.each(byFile)('%s matches the published types', (_, file) => {
    expect(validateResourceBodies([file], snapshot).map(formatProblem)).toEqual([]);
  });

  it('the snapshot holds every type@apiVersion infra/ uses (regenerate it when this fails)', () => {
    const used = new Set([...files.values()].flatMap((f) => f.resources.map((r) => `${r.type}@${r.apiVersion}`)));

    expect([...used].filter((pair) => !(pair in snapshot.resources))).toEqual([]);
    expect(snapshot.commit, 'the snapshot names the bicep-types-az commit it came from').toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('module calls', () => {
  it('pass only declared parameters and every required one', () => {
    expect(validateModuleParams(files).map(formatProblem)).toEqual([]);
  });
});

describe('what the validation catches', () => {
  const path = 'infra/modules/service-bus.bicep';
  const source = readFileSync(join(repoRoot, path), 'utf8');
  const problemsAfter = (from: string, to: string): string[] => {
    const changed = source.replace(from, to);
    expect(changed, `the test's edit applies: ${from}`).not.toBe(source);
    return validateResourceBodies([readBicep(changed, path)], snapshot).map(formatProblem);
  };

  it.each([
    ['a misspelled property', 'requiresSession: true', 'requiresSesion: true', /unknown property 'requiresSesion'/],
    ['a mis-cased property', 'requiresSession: true', 'RequiresSession: true', /'RequiresSession' is mis-cased: the published name is 'requiresSession'/],
    ['a mis-cased nested property', 'minimumTlsVersion', 'minimumTLSVersion', /mis-cased: the published name is 'minimumTlsVersion'/],
    ['an enum value Azure does not know', "name: 'Standard'\n        tier", "name: 'Standart'\n        tier", /'Standart' is not one of 'Basic', 'Standard', 'Premium'/],
    ['a value of the wrong kind', 'maxDeliveryCount: 10', "maxDeliveryCount: '10'", /'10' is not an integer/],
    ['a read-only property', 'disableLocalAuth: true', "disableLocalAuth: true\n    status: 'Active'", /'status' is read-only/],
  ])('%s', (_, from, to, message) => {
    const problems = problemsAfter(from, to);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(problems[0]).toMatch(/^infra\/modules\/service-bus\.bicep:\d+:\d+ /);
  });

  it('a module parameter nobody declared', () => {
    const main = files.get('infra/main.bicep')!;
    const changed = readBicep(main.raw.replace('stepQueueName: stepQueueName', 'stepQueue: stepQueueName'), main.path);
    const problems = validateModuleParams(new Map([...files, [main.path, changed]])).map(formatProblem);

    expect(problems.some((p) => /declares no parameter 'stepQueue'/.test(p))).toBe(true);
    expect(problems.some((p) => /required parameter 'stepQueueName' of modules\/service-bus\.bicep is not passed/.test(p))).toBe(true);
  });
});
