import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Parser from 'tree-sitter';
import Bicep from 'tree-sitter-bicep';

/**
 * Bicep read with a real parser: tree-sitter-bicep (the grammar editors use),
 * through the tree-sitter Node binding. A file with any syntax error (an ERROR
 * or MISSING node anywhere in its tree) does not load: `readBicep` throws
 * `BicepSyntaxError` naming line and column, so every infra test fails on it.
 *
 * On top of the tree, a small view the infra tests read: the file's
 * statements (params with their decorators, vars, resources, modules,
 * outputs), resource and module bodies as objects (property → the source text
 * of its value, nested objects on request), and literals. Expressions are not
 * evaluated: a value built from a function, a ternary or a param is returned
 * as text, and a test that needs a literal fails rather than guesses.
 *
 * Resource bodies are checked against Azure's published type data by
 * `validateResourceBodies` in ./bicep-types.ts.
 */

export type SyntaxNode = Parser.SyntaxNode;

const parser = new Parser();
parser.setLanguage(Bicep as unknown as Parser.Language);

export interface BicepParam {
  readonly name: string;
  readonly type: string;
  readonly defaultValue: string | undefined;
  readonly decorators: readonly string[];
  readonly line: number;
}

export interface BicepVar {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

export interface BicepResource {
  readonly symbol: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  readonly condition: string | undefined;
  readonly loop: string | undefined;
  readonly body: BicepObject;
  readonly line: number;
}

export interface BicepModule {
  readonly symbol: string;
  readonly path: string;
  readonly condition: string | undefined;
  readonly loop: string | undefined;
  readonly body: BicepObject;
  readonly line: number;
}

export interface BicepOutput {
  readonly name: string;
  readonly type: string;
  readonly value: string;
  readonly decorators: readonly string[];
  readonly line: number;
}

export interface BicepFile {
  /** Path relative to the repository root, with forward slashes. */
  readonly path: string;
  /** The file as written, comments included. */
  readonly raw: string;
  /** The file with comments blanked out (same length and line numbers). */
  readonly code: string;
  readonly targetScope: string | undefined;
  readonly params: readonly BicepParam[];
  readonly vars: readonly BicepVar[];
  readonly resources: readonly BicepResource[];
  readonly modules: readonly BicepModule[];
  readonly outputs: readonly BicepOutput[];
}

export interface BicepSyntaxProblem {
  readonly line: number;
  readonly column: number;
  /** `unexpected <text>` for an ERROR node, `missing <token>` for a MISSING one. */
  readonly message: string;
}

export class BicepSyntaxError extends Error {
  override readonly name = 'BicepSyntaxError';
  constructor(
    readonly path: string,
    readonly problems: readonly BicepSyntaxProblem[],
  ) {
    super(`${path}: ${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('; ')}`);
  }
}

/** The object literal of a resource or module body: property → source text of the value. */
export class BicepObject {
  readonly #entries: ReadonlyMap<string, SyntaxNode>;

  constructor(readonly node: SyntaxNode) {
    this.#entries = new Map(objectProperties(node).map((p) => [p.key, p.value]));
  }

  /** Property names in source order; quoted names are unquoted (interpolated ones keep `${...}`). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** The value node of a property, following nested objects with a dotted path. */
  valueNode(path: string): SyntaxNode | undefined {
    const [head, ...rest] = path.split('.');
    if (head === undefined) return undefined;
    const value = this.#entries.get(head);
    if (value === undefined || rest.length === 0) return value;
    return this.object(head)?.valueNode(rest.join('.'));
  }

  /** Source text of a property's value, following nested objects with a dotted path. */
  get(path: string): string | undefined {
    return this.valueNode(path)?.text;
  }

  /** A nested object literal, or undefined when the value is not one. */
  object(path: string): BicepObject | undefined {
    const value = this.valueNode(path);
    return value?.type === 'object' ? new BicepObject(value) : undefined;
  }
}

export interface ObjectProperty {
  /** The property name; a quoted name without quotes. */
  readonly key: string;
  /** False when the name is an interpolated string (`'${id}': {}`). */
  readonly literalKey: boolean;
  readonly keyNode: SyntaxNode;
  readonly value: SyntaxNode;
}

/** The properties of an `object` node, in source order. */
export function objectProperties(node: SyntaxNode): ObjectProperty[] {
  return node.namedChildren
    .filter((c) => c.type === 'object_property')
    .map((property) => {
      const named = property.namedChildren.filter((c) => c.type !== 'comment');
      const keyNode = named[0]!;
      const value = named[named.length - 1]!;
      const literalKey = keyNode.type !== 'string' || !hasInterpolation(keyNode);
      const key = keyNode.type === 'string' ? (literalKey ? stringValue(keyNode) : keyNode.text.slice(1, -1)) : keyNode.text;
      return { key, literalKey, keyNode, value };
    });
}

/** ERROR and MISSING nodes of a tree, as problems with 1-based line and column. */
export function syntaxProblems(root: SyntaxNode): BicepSyntaxProblem[] {
  const problems: BicepSyntaxProblem[] = [];
  const visit = (node: SyntaxNode): void => {
    if (node.isMissing) {
      problems.push({ line: node.startPosition.row + 1, column: node.startPosition.column + 1, message: `missing ${node.type}` });
      return;
    }
    if (node.type === 'ERROR') {
      problems.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        message: `unexpected ${JSON.stringify(node.text.split('\n')[0]!.slice(0, 40))}`,
      });
      return;
    }
    if (node.hasError) for (const child of node.children) visit(child);
  };
  visit(root);
  return problems;
}

/** Parses Bicep source into its tree-sitter tree (syntax errors included, not thrown). */
export function parseBicep(raw: string): Parser.Tree {
  return parser.parse(raw);
}

function hasInterpolation(stringNode: SyntaxNode): boolean {
  return stringNode.namedChildren.some((c) => c.type === 'interpolation');
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", $: '$' };

/** The value of a string node without interpolation (escapes resolved). */
function stringValue(node: SyntaxNode): string {
  const text = node.text;
  if (text.startsWith("'''")) return text.slice(3, -3).replace(/^\r?\n/, '');
  return text
    .slice(1, -1)
    .replace(/\\u\{([0-9a-fA-F]+)\}|\\(.)/g, (_, hex: string | undefined, c: string) =>
      hex !== undefined ? String.fromCodePoint(parseInt(hex, 16)) : (ESCAPES[c] ?? c),
    );
}

function precedingDecorators(node: SyntaxNode): string[] {
  const previous = node.previousNamedSibling;
  if (previous?.type !== 'decorators') return [];
  return previous.namedChildren.filter((c) => c.type === 'decorator').map((d) => d.text);
}

/** Splits the value of a resource or module declaration into condition, loop and body. */
function declarationValue(value: SyntaxNode): { condition: string | undefined; loop: string | undefined; body: BicepObject } {
  let loop: string | undefined;
  let condition: string | undefined;
  let node = value;
  if (node.type === 'for_statement') {
    const body = node.childForFieldName('body') ?? node.namedChildren[node.namedChildren.length - 1]!;
    const head = node.namedChildren.filter((c) => c.id !== body.id && c.type !== 'comment');
    loop = `${head[0]!.text} in ${head.slice(1).map((c) => c.text).join(' ')}`;
    node = body;
  }
  if (node.type === 'if_statement') {
    const test = node.namedChildren.find((c) => c.type === 'parenthesized_expression')!;
    condition = test.text.slice(1, -1).trim();
    node = node.namedChildren.find((c) => c.type === 'object')!;
  }
  if (node.type !== 'object') throw new Error(`expected an object body, found ${node.type} at line ${node.startPosition.row + 1}`);
  return { condition, loop, body: new BicepObject(node) };
}

/** The node after `=` in a declaration. */
function assigned(node: SyntaxNode): SyntaxNode | undefined {
  const index = node.children.findIndex((c) => c.type === '=');
  return index === -1 ? undefined : (node.children.slice(index + 1).find((c) => c.isNamed && c.type !== 'comment') ?? undefined);
}

/** Reads Bicep source text; `path` is used in messages and results. Throws BicepSyntaxError on any syntax error. */
export function readBicep(raw: string, path = '(text)'): BicepFile {
  const tree = parseBicep(raw);
  const problems = syntaxProblems(tree.rootNode);
  if (problems.length > 0) throw new BicepSyntaxError(path, problems);

  const code = raw.split('');
  for (const comment of tree.rootNode.descendantsOfType('comment')) {
    for (let i = comment.startIndex; i < comment.endIndex; i += 1) if (code[i] !== '\n') code[i] = ' ';
  }

  const params: BicepParam[] = [];
  const vars: BicepVar[] = [];
  const resources: BicepResource[] = [];
  const modules: BicepModule[] = [];
  const outputs: BicepOutput[] = [];
  let targetScope: string | undefined;

  for (const statement of tree.rootNode.namedChildren) {
    const line = statement.startPosition.row + 1;
    const named = statement.namedChildren.filter((c) => c.type !== 'comment');
    const value = assigned(statement);
    switch (statement.type) {
      case 'target_scope_assignment':
        targetScope = literal(value?.text ?? named[0]?.text) as string | undefined;
        break;
      case 'parameter_declaration':
        params.push({
          name: named[0]!.text,
          type: named[1]!.text,
          defaultValue: value?.text,
          decorators: precedingDecorators(statement),
          line,
        });
        break;
      case 'variable_declaration':
        vars.push({ name: named[0]!.text, value: value!.text, line });
        break;
      case 'output_declaration':
        outputs.push({
          name: named[0]!.text,
          type: named[1]!.text,
          value: value!.text,
          decorators: precedingDecorators(statement),
          line,
        });
        break;
      case 'resource_declaration': {
        const typeAndVersion = stringValue(named[1]!);
        const at = typeAndVersion.lastIndexOf('@');
        resources.push({
          symbol: named[0]!.text,
          type: typeAndVersion.slice(0, at),
          apiVersion: typeAndVersion.slice(at + 1),
          existing: statement.children.some((c) => c.type === 'existing'),
          ...declarationValue(value!),
          line,
        });
        break;
      }
      case 'module_declaration':
        modules.push({ symbol: named[0]!.text, path: stringValue(named[1]!), ...declarationValue(value!), line });
        break;
      default:
        // comments, decorators (read with their statement), import, type, func, metadata.
        break;
    }
  }
  return { path, raw, code: code.join(''), targetScope, params, vars, resources, modules, outputs };
}

/** Every `.bicep` file under `dir` (recursively), keyed by path relative to `root`. */
export function readBicepTree(root: string, dir = 'infra'): Map<string, BicepFile> {
  const files = new Map<string, BicepFile>();
  for (const path of bicepPaths(root, dir)) files.set(path, readBicep(readFileSync(join(root, path), 'utf8'), path));
  return files;
}

/** Paths (relative to `root`, forward slashes) of every `.bicep` file under `dir`. */
export function bicepPaths(root: string, dir = 'infra'): string[] {
  const paths: string[] = [];
  const walk = (absolute: string): void => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const full = join(absolute, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) paths.push(relative(root, full).split('\\').join('/'));
    }
  };
  walk(join(root, dir));
  return paths.sort();
}

// ---------------------------------------------------------------------------
// Values

export type Literal = string | number | boolean;

/** The literal a value node stands for (string without interpolation, number, boolean), or undefined. */
export function nodeLiteral(node: SyntaxNode): Literal | undefined {
  switch (node.type) {
    case 'boolean':
      return node.text === 'true';
    case 'number':
      return Number(node.text);
    case 'unary_expression':
      return node.text.startsWith('-') && node.namedChildren[0]?.type === 'number' ? -Number(node.namedChildren[0].text) : undefined;
    case 'string':
      return hasInterpolation(node) ? undefined : stringValue(node);
    case 'parenthesized_expression':
      return node.namedChildren.length === 1 ? nodeLiteral(node.namedChildren[0]!) : undefined;
    default:
      return undefined;
  }
}

/** Parses the text of one expression (as written in a Bicep file) into its node. */
function expression(text: string): SyntaxNode | undefined {
  const tree = parser.parse(`var x = ${text}\n`);
  if (tree.rootNode.hasError) return undefined;
  const declaration = tree.rootNode.namedChildren.find((c) => c.type === 'variable_declaration');
  return declaration ? assigned(declaration) : undefined;
}

/** A literal value, or undefined for anything computed. */
export function literal(value: string | undefined): Literal | undefined {
  if (value === undefined) return undefined;
  const node = expression(value.trim());
  return node ? nodeLiteral(node) : undefined;
}

/** A literal, following one identifier to a param default or a var in `file`. */
export function resolve(file: BicepFile, value: string | undefined): Literal | undefined {
  const direct = literal(value);
  if (direct !== undefined || value === undefined) return direct;
  const name = value.trim();
  if (!/^\w+$/.test(name)) return undefined;
  const param = file.params.find((p) => p.name === name);
  if (param) return literal(param.defaultValue);
  const variable = file.vars.find((v) => v.name === name);
  return variable ? literal(variable.value) : undefined;
}

/** The literal elements of an array literal (`[ 'a' 'b' ]`, one per line or comma-separated), or undefined. */
export function literalArray(value: string | undefined): Literal[] | undefined {
  if (value === undefined) return undefined;
  const node = expression(value.trim());
  if (node?.type !== 'array') return undefined;
  const items = node.namedChildren.filter((c) => c.type !== 'comment').map(nodeLiteral);
  return items.every((i) => i !== undefined) ? items : undefined;
}
