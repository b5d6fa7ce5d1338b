import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeLiteral, objectProperties, type BicepFile, type BicepResource, type SyntaxNode } from './bicep.js';

/**
 * Resource bodies checked against Azure's published Bicep type data (the
 * Azure/bicep-types-az repository), the data the Bicep compiler itself type
 * checks with. The snapshot in test/fixtures/bicep-types/types.json holds
 * just the type@apiVersion pairs infra/ uses; scripts/vendor-bicep-types.ts
 * regenerates it.
 *
 * Stricter than the compiler where the compiler only warns: an unknown
 * property, a property whose case differs from the published name, a
 * read-only property that is set, a missing required property, a literal
 * outside an enum or of the wrong kind, an integer outside its bounds, an
 * unknown type@apiVersion. Expressions (parameters, functions, references)
 * are not evaluated; both branches of a ternary are checked.
 */

interface Ref {
  readonly $ref: string;
}
interface Property {
  readonly type: Ref;
  readonly flags: number;
}
type PublishedType =
  | { readonly $type: 'ResourceType'; readonly name: string; readonly body: Ref }
  | { readonly $type: 'ObjectType'; readonly name: string; readonly properties: Record<string, Property>; readonly additionalProperties?: Ref }
  | {
      readonly $type: 'DiscriminatedObjectType';
      readonly name: string;
      readonly discriminator: string;
      readonly baseProperties: Record<string, Property>;
      readonly elements: Record<string, Ref>;
    }
  | { readonly $type: 'UnionType'; readonly elements: readonly Ref[] }
  | { readonly $type: 'StringLiteralType'; readonly value: string }
  | { readonly $type: 'StringType'; readonly minLength?: number; readonly maxLength?: number }
  | { readonly $type: 'IntegerType'; readonly minValue?: number; readonly maxValue?: number }
  | { readonly $type: 'ArrayType'; readonly itemType: Ref; readonly minLength?: number; readonly maxLength?: number }
  | { readonly $type: 'BooleanType' | 'AnyType' | 'NullType' };

/** Bicep's ObjectTypePropertyFlags. */
const Flags = { Required: 1, ReadOnly: 2 } as const;

/** Properties Bicep itself adds to every resource body. */
const bicepResourceKeys = new Set(['parent', 'scope', 'dependsOn']);
/** What an `existing` resource may declare. */
const existingKeys = new Set(['name', 'parent', 'scope']);

export interface TypeSnapshot {
  readonly commit: string | undefined;
  readonly resources: Readonly<Record<string, number>>;
  readonly types: readonly PublishedType[];
}

export interface TypeProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The resource symbol and the property path, e.g. `stepQueue.properties.maxDeliveryCount`. */
  readonly at: string;
  readonly message: string;
}

const snapshotPath = fileURLToPath(new URL('../fixtures/bicep-types/types.json', import.meta.url));

export function loadTypeSnapshot(path = snapshotPath): TypeSnapshot {
  return JSON.parse(readFileSync(path, 'utf8')) as TypeSnapshot;
}

export function formatProblem(p: TypeProblem): string {
  return `${p.file}:${p.line}:${p.column} ${p.at}: ${p.message}`;
}

/** Every problem of every resource body of `files`. */
export function validateResourceBodies(files: Iterable<BicepFile>, snapshot: TypeSnapshot = loadTypeSnapshot()): TypeProblem[] {
  const problems: TypeProblem[] = [];
  for (const file of files) for (const resource of file.resources) problems.push(...validateResource(file, resource, snapshot));
  return problems;
}

export function validateResource(file: BicepFile, resource: BicepResource, snapshot: TypeSnapshot): TypeProblem[] {
  const problems: TypeProblem[] = [];
  const report = (node: SyntaxNode, at: string, message: string): void => {
    problems.push({ file: file.path, line: node.startPosition.row + 1, column: node.startPosition.column + 1, at, message });
  };
  const pair = `${resource.type}@${resource.apiVersion}`;
  const index = Object.entries(snapshot.resources).find(([key]) => key.toLowerCase() === pair.toLowerCase())?.[1];
  if (index === undefined) {
    report(resource.body.node, resource.symbol, `${pair} is not in the type snapshot (scripts/vendor-bicep-types.ts)`);
    return problems;
  }
  const resourceType = snapshot.types[index]!;
  if (resourceType.$type !== 'ResourceType') throw new Error(`snapshot entry ${pair} is not a ResourceType`);

  const deref = (ref: Ref): PublishedType => {
    const type = snapshot.types[Number(ref.$ref.slice(2))];
    if (!type) throw new Error(`dangling reference ${ref.$ref} in the type snapshot`);
    return type;
  };
  /** Problems of `node` against `ref`, reported into a fresh list (for union trials). */
  const trial = (node: SyntaxNode, ref: Ref, at: string): TypeProblem[] => {
    const saved = problems.length;
    check(node, ref, at, new Set());
    return problems.splice(saved);
  };

  function checkObject(
    node: SyntaxNode,
    properties: Record<string, Property>,
    additional: Ref | undefined,
    at: string,
    extra: ReadonlySet<string>,
  ): void {
    const seen = new Set<string>();
    for (const property of objectProperties(node)) {
      const where = `${at}.${property.key}`;
      seen.add(property.key);
      if (extra.has(property.key)) continue;
      const declared = property.literalKey ? properties[property.key] : undefined;
      if (declared) {
        if (declared.flags & Flags.ReadOnly) report(property.keyNode, where, `'${property.key}' is read-only`);
        else check(property.value, declared.type, where, new Set());
        continue;
      }
      const cased = Object.keys(properties).find((name) => name.toLowerCase() === property.key.toLowerCase());
      if (cased !== undefined && property.literalKey) {
        report(property.keyNode, where, `'${property.key}' is mis-cased: the published name is '${cased}'`);
        continue;
      }
      if (additional) {
        check(property.value, additional, where, new Set());
        continue;
      }
      const names = Object.entries(properties)
        .filter(([, p]) => !(p.flags & Flags.ReadOnly))
        .map(([name]) => name);
      report(property.keyNode, where, `unknown property '${property.key}' (allowed: ${names.join(', ')})`);
    }
    for (const [name, p] of Object.entries(properties)) {
      if (p.flags & Flags.Required && !(p.flags & Flags.ReadOnly) && !seen.has(name)) report(node, at, `required property '${name}' is missing`);
    }
  }

  function check(node: SyntaxNode, ref: Ref, at: string, extra: ReadonlySet<string>): void {
    if (node.type === 'parenthesized_expression' && node.namedChildren.length === 1) return check(node.namedChildren[0]!, ref, at, extra);
    if (node.type === 'ternary_expression') {
      const consequence = node.childForFieldName('consequence');
      const alternative = node.childForFieldName('alternative');
      if (consequence) check(consequence, ref, at, extra);
      if (alternative) check(alternative, ref, at, extra);
      return;
    }
    if (node.type === 'null') return;
    const type = deref(ref);
    const value = nodeLiteral(node);
    const isComputed = value === undefined && node.type !== 'object' && node.type !== 'array';
    switch (type.$type) {
      case 'AnyType':
      case 'NullType':
      case 'ResourceType':
        return;
      case 'UnionType': {
        if (isComputed) return;
        const trials = type.elements.map((element) => trial(node, element, at));
        if (trials.some((t) => t.length === 0)) return;
        const literals = type.elements.map(deref).flatMap((t) => (t.$type === 'StringLiteralType' ? [`'${t.value}'`] : []));
        if (value !== undefined && literals.length === type.elements.length) {
          report(node, at, `${node.text} is not one of ${literals.join(', ')}`);
          return;
        }
        problems.push(...trials.reduce((best, t) => (t.length < best.length ? t : best)));
        return;
      }
      case 'StringLiteralType':
        if (isComputed) return;
        if (value !== type.value) report(node, at, `${node.text} is not '${type.value}'`);
        return;
      case 'StringType':
        if (isComputed) return;
        if (typeof value !== 'string') report(node, at, `${node.text} is not a string`);
        else if ((type.minLength !== undefined && value.length < type.minLength) || (type.maxLength !== undefined && value.length > type.maxLength))
          report(node, at, `'${value}' is outside the length ${type.minLength ?? 0}..${type.maxLength ?? '∞'}`);
        return;
      case 'IntegerType':
        if (isComputed) return;
        if (typeof value !== 'number' || !Number.isInteger(value)) report(node, at, `${node.text} is not an integer`);
        else if ((type.minValue !== undefined && value < type.minValue) || (type.maxValue !== undefined && value > type.maxValue))
          report(node, at, `${value} is outside ${type.minValue ?? '-∞'}..${type.maxValue ?? '∞'}`);
        return;
      case 'BooleanType':
        if (isComputed) return;
        if (typeof value !== 'boolean') report(node, at, `${node.text} is not a boolean`);
        return;
      case 'ArrayType': {
        if (isComputed) return;
        if (node.type !== 'array') {
          report(node, at, `${node.text.slice(0, 40)} is not an array`);
          return;
        }
        const items = node.namedChildren.filter((c) => c.type !== 'comment');
        items.forEach((item, i) => check(item, type.itemType, `${at}[${i}]`, new Set()));
        return;
      }
      case 'ObjectType':
        if (isComputed) return;
        if (node.type !== 'object') {
          report(node, at, `${node.text.slice(0, 40)} is not an object`);
          return;
        }
        checkObject(node, type.properties, type.additionalProperties, at, extra);
        return;
      case 'DiscriminatedObjectType': {
        if (isComputed) return;
        if (node.type !== 'object') {
          report(node, at, `${node.text.slice(0, 40)} is not an object`);
          return;
        }
        const tag = objectProperties(node).find((p) => p.key === type.discriminator);
        const tagValue = tag ? nodeLiteral(tag.value) : undefined;
        if (tag === undefined) {
          report(node, at, `required property '${type.discriminator}' is missing`);
          return;
        }
        if (typeof tagValue !== 'string') return; // computed discriminator: nothing to choose from
        const element = type.elements[tagValue];
        if (!element) {
          report(tag.value, `${at}.${type.discriminator}`, `'${tagValue}' is not one of ${Object.keys(type.elements).map((k) => `'${k}'`).join(', ')}`);
          return;
        }
        const variant = deref(element);
        if (variant.$type !== 'ObjectType') throw new Error(`discriminated element ${tagValue} is ${variant.$type}`);
        checkObject(node, { ...type.baseProperties, ...variant.properties }, variant.additionalProperties, at, extra);
        return;
      }
    }
  }

  if (resource.existing) {
    for (const property of objectProperties(resource.body.node)) {
      if (!existingKeys.has(property.key)) report(property.keyNode, `${resource.symbol}.${property.key}`, `an existing resource declares only name, parent and scope`);
    }
    return problems;
  }
  check(resource.body.node, resourceType.body, resource.symbol, bicepResourceKeys);
  return problems;
}

/**
 * Module calls against the module files: every parameter passed is declared
 * there, and every parameter without a default is passed.
 */
export function validateModuleParams(files: ReadonlyMap<string, BicepFile>): TypeProblem[] {
  const problems: TypeProblem[] = [];
  for (const file of files.values()) {
    for (const module of file.modules) {
      const target = files.get(new URL(module.path, `file:///${file.path}`).pathname.slice(1));
      const params = module.body.object('params');
      const at = (node: SyntaxNode, where: string, message: string): void => {
        problems.push({ file: file.path, line: node.startPosition.row + 1, column: node.startPosition.column + 1, at: where, message });
      };
      if (!target) {
        at(module.body.node, module.symbol, `module file ${module.path} not found`);
        continue;
      }
      const declared = new Map(target.params.map((p) => [p.name, p]));
      const passed = new Set(params?.keys() ?? []);
      for (const property of params ? objectProperties(params.node) : []) {
        if (!declared.has(property.key)) at(property.keyNode, `${module.symbol}.params.${property.key}`, `${module.path} declares no parameter '${property.key}'`);
      }
      for (const p of target.params) {
        if (p.defaultValue === undefined && !passed.has(p.name)) at(module.body.node, `${module.symbol}.params`, `required parameter '${p.name}' of ${module.path} is not passed`);
      }
    }
  }
  return problems;
}
