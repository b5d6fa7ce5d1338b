import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BicepSyntaxError, bicepPaths, literal, literalArray, parseBicep, readBicep, resolve, syntaxProblems } from '../../helpers/bicep.js';
import { repoRoot } from './infra-files.js';

// The reader (tree-sitter-bicep underneath) is what every infra test stands
// on: every file under infra/ parses without a syntax error, a syntax error
// fails loudly, and the view the tests read is pinned here.

const sample = `
targetScope = 'resourceGroup'

// a comment with 'quotes' and { braces
@description('Window; not a // comment')
param window string = 'P1D'

param count int

var name = 'sb-\${window}-x'

resource ns 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: 'ns'
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = if (count > 0) {
  parent: ns // trailing comment
  name: 'steps'
  properties: {
    requiresSession: true
    duplicateDetectionHistoryTimeWindow: window
    sku: count > 1
      ? { name: 'Premium', tier: 'Premium' }
      : { name: 'Standard' }
    url: 'https://\${replace(name, '-', '.')}/{not-a-brace'
    '\${name}-key': {}
    /* block
       comment */
    types: [
      'a'
      'b'
    ]
  }
}

module m 'modules/m.bicep' = [
  for (id, i) in ['x']: {
    name: 'm-\${i}'
    params: { id: id }
  }
]

@secure()
output secretish string = ns.properties.serviceBusEndpoint
`;

describe('readBicep', () => {
  const file = readBicep(sample, 'sample.bicep');

  it('reads target scope, params with decorators and defaults, and vars', () => {
    expect(file.targetScope).toBe('resourceGroup');
    expect(file.params.map((p) => [p.name, p.type, p.defaultValue])).toEqual([
      ['window', 'string', "'P1D'"],
      ['count', 'int', undefined],
    ]);
    expect(file.params[0]!.decorators).toEqual(["@description('Window; not a // comment')"]);
    expect(file.vars).toEqual([{ name: 'name', value: "'sb-${window}-x'", line: 10 }]);
  });

  it('reads resources with type, version, existing, condition and line', () => {
    expect(file.resources.map((r) => [r.symbol, r.type, r.apiVersion, r.existing, r.condition, r.line])).toEqual([
      ['ns', 'Microsoft.ServiceBus/namespaces', '2024-01-01', true, undefined, 12],
      ['queue', 'Microsoft.ServiceBus/namespaces/queues', '2024-01-01', false, 'count > 0', 16],
    ]);
  });

  it('reads property values through nested objects, ignoring comments and strings', () => {
    const queue = file.resources[1]!;

    expect(queue.body.keys()).toEqual(['parent', 'name', 'properties']);
    expect(queue.body.get('parent')).toBe('ns');
    expect(queue.body.object('properties')!.keys()).toEqual([
      'requiresSession',
      'duplicateDetectionHistoryTimeWindow',
      'sku',
      'url',
      '${name}-key',
      'types',
    ]);
    expect(queue.body.get('properties.requiresSession')).toBe('true');
    expect(queue.body.get('properties.url')).toBe("'https://${replace(name, '-', '.')}/{not-a-brace'");
    expect(queue.body.get('properties.sku')).toMatch(/^count > 1\s+\? \{ name: 'Premium', tier: 'Premium' \}\s+: \{ name: 'Standard' \}$/);
    expect(literalArray(queue.body.get('properties.types'))).toEqual(['a', 'b']);
  });

  it('reads module loops and outputs with decorators', () => {
    expect(file.modules.map((m) => [m.symbol, m.path, m.loop, m.body.object('params')!.get('id')])).toEqual([
      ['m', 'modules/m.bicep', "(id, i) in ['x']", 'id'],
    ]);
    expect(file.outputs).toEqual([
      { name: 'secretish', type: 'string', value: 'ns.properties.serviceBusEndpoint', decorators: ['@secure()'], line: 44 },
    ]);
  });

  it('resolves one step of indirection to a literal, and nothing computed', () => {
    const props = file.resources[1]!.body.object('properties')!;

    expect(resolve(file, props.get('duplicateDetectionHistoryTimeWindow'))).toBe('P1D');
    expect(resolve(file, 'name')).toBeUndefined(); // interpolated: not a literal
    expect(resolve(file, 'count')).toBeUndefined(); // no default
  });

  it('blanks comments but keeps lines, so raw and code line up', () => {
    expect(file.code.split('\n')).toHaveLength(file.raw.split('\n').length);
    expect(file.code).not.toContain('a comment');
    expect(file.code).toContain("'Window; not a // comment'");
  });
});

describe('literal', () => {
  it.each([
    ["'text'", 'text'],
    ["'it\\'s'", "it's"],
    ['true', true],
    ['false', false],
    ['42', 42],
    ["'a-${b}'", undefined],
    ['concat(a, b)', undefined],
    ['someParam', undefined],
  ])('%s → %s', (text, expected) => {
    expect(literal(text)).toBe(expected);
  });
});

describe('syntax', () => {
  it.each(bicepPaths(repoRoot, 'infra'))('%s parses without a syntax error', (path) => {
    const tree = parseBicep(readFileSync(join(repoRoot, path), 'utf8'));

    expect(syntaxProblems(tree.rootNode)).toEqual([]);
  });

  it.each([
    ['an unbalanced body', "resource x 'A/b@1' = {\n  name: 'x'\n", 1],
    ['an unterminated string (missing quote at the end)', "var x = 'abc\n", 2],
    ['an unterminated block comment', 'var x = 1 /* no end\n', 1],
    ['a stray closing bracket', 'var x = 1)\n', 1],
    ['a property without a colon', "var x = {\n  a: 1\n  b 2\n}\n", 3],
    ['an operator without its operand', 'var x = 1 +\n', 1],
    ['a keyword misspelled', "resorce x 'A/b@1' = {\n  name: 'x'\n}\n", 1],
  ])('throws BicepSyntaxError on %s, naming the line', (_, text, line) => {
    expect(() => readBicep(text, 'broken.bicep')).toThrow(BicepSyntaxError);
    const problems = syntaxProblems(parseBicep(text).rootNode);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.line).toBe(line);
  });

  it('throws on a syntax error slipped into a real module', () => {
    const path = 'infra/modules/service-bus.bicep';
    const broken = readFileSync(join(repoRoot, path), 'utf8').replace('maxDeliveryCount: 10', 'maxDeliveryCount 10');

    expect(() => readBicep(broken, path)).toThrow(/service-bus\.bicep: \d+:\d+/);
  });
});
