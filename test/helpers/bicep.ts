import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A small reader of Bicep *text*, enough for the infra tests to check
 * invariants without the Bicep compiler (which cannot be installed here).
 *
 * What it understands:
 * - comments (`//`, `/* *\/`), strings (`'...'` with `\'` escapes and
 *   `${...}` interpolation, which may hold strings) and multi-line `'''`
 *   strings, so brackets, colons and `//` inside strings do not confuse it;
 * - top-level `targetScope`, `param`, `var`, `resource`, `module` and `output`
 *   statements with their decorators, line numbers, `existing`, an `if (...)`
 *   condition and a `[for ...: ...]` loop;
 * - object bodies: property name → the raw text of its value, nested objects
 *   on request, and arrays of literals;
 * - literals (strings without interpolation, booleans, integers) and one step
 *   of indirection through a `param` default or a `var`.
 *
 * What it does not do (on purpose; it is not a parser):
 * - evaluate expressions, functions, `union()`, ternaries or loops: a value
 *   built that way is returned as raw text, and a test that needs a literal
 *   fails rather than guesses;
 * - resources declared *inside* another resource's body (the infra avoids
 *   them) or statements that continue on a new line after the brackets close
 *   (a top-level statement ends at the first line end where brackets balance);
 * - single-line objects with several comma-separated properties inside
 *   *nested* values are read as raw text only;
 * - type checking, API schemas, scopes across files: a module's parameters
 *   are text, not the values they become.
 * Unbalanced brackets or an unterminated string throw, so a file it cannot
 * read fails the tests loudly instead of passing them quietly.
 */

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

export class BicepReadError extends Error {
  override readonly name = 'BicepReadError';
}

/** The object literal of a resource or module body: property → raw value text. */
export class BicepObject {
  readonly #entries: ReadonlyMap<string, string>;

  constructor(entries: ReadonlyMap<string, string>) {
    this.#entries = entries;
  }

  /** Property names in source order; quoted names are unquoted. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** Raw text of a property, following nested objects with a dotted path. */
  get(path: string): string | undefined {
    const [head, ...rest] = path.split('.');
    if (head === undefined) return undefined;
    const value = this.#entries.get(head);
    if (value === undefined || rest.length === 0) return value;
    return this.object(head)?.get(rest.join('.'));
  }

  /** A nested object literal, or undefined when the value is not one. */
  object(path: string): BicepObject | undefined {
    const value = this.get(path)?.trim();
    if (value === undefined || !value.startsWith('{') || !value.endsWith('}')) return undefined;
    return parseObjectLiteral(value);
  }
}

// ---------------------------------------------------------------------------
// Scanning: blank comments, and mask string contents so structure is visible.

interface Scan {
  /** Text with comments replaced by spaces. */
  readonly code: string;
  /** Like `code`, with every character inside a string literal replaced by `_`. */
  readonly shape: string;
}

function scan(text: string): Scan {
  const code = text.split('');
  const shape = text.split('');
  // Stack of contexts: 'code' (with a brace depth for interpolation), 'string'.
  const stack: { kind: 'code' | 'string'; braces: number }[] = [{ kind: 'code', braces: 0 }];
  let i = 0;
  const blank = (from: number, to: number, replacement: string): void => {
    for (let k = from; k < to; k += 1) {
      if (text[k] === '\n') continue;
      code[k] = replacement === ' ' ? ' ' : code[k]!;
      shape[k] = replacement;
    }
  };
  while (i < text.length) {
    const top = stack[stack.length - 1]!;
    const c = text[i]!;
    const next = text[i + 1];
    if (top.kind === 'code') {
      if (c === '/' && next === '/') {
        const end = text.indexOf('\n', i);
        const stop = end === -1 ? text.length : end;
        blank(i, stop, ' ');
        i = stop;
      } else if (c === '/' && next === '*') {
        const end = text.indexOf('*/', i + 2);
        if (end === -1) throw new BicepReadError('unterminated block comment');
        blank(i, end + 2, ' ');
        i = end + 2;
      } else if (text.startsWith("'''", i)) {
        const end = text.indexOf("'''", i + 3);
        if (end === -1) throw new BicepReadError('unterminated multi-line string');
        blank(i + 3, end, '_');
        i = end + 3;
      } else if (c === "'") {
        stack.push({ kind: 'string', braces: 0 });
        i += 1;
      } else if (c === '{' && stack.length > 1) {
        top.braces += 1;
        i += 1;
      } else if (c === '}' && stack.length > 1 && top.braces === 0) {
        // End of an interpolation: back into the enclosing string.
        shape[i] = '_';
        stack.pop();
        i += 1;
      } else {
        if (c === '}' && stack.length > 1) top.braces -= 1;
        if (stack.length > 1 && c !== '\n') shape[i] = '_';
        i += 1;
      }
    } else {
      if (c === '\\') {
        blank(i, Math.min(i + 2, text.length), '_');
        i += 2;
      } else if (c === "'") {
        stack.pop();
        i += 1;
      } else if (c === '$' && next === '{') {
        blank(i, i + 2, '_');
        stack.push({ kind: 'code', braces: 0 });
        i += 2;
      } else if (c === '\n') {
        throw new BicepReadError(`line break inside a string at offset ${i}`);
      } else {
        shape[i] = '_';
        i += 1;
      }
    }
  }
  if (stack.length !== 1) throw new BicepReadError('unterminated string or interpolation');
  return { code: code.join(''), shape: shape.join('') };
}

const OPEN = new Set(['(', '[', '{']);
const CLOSE: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** Index of the bracket closing the one at `start` in `shape`, or throws. */
function matching(shape: string, start: number): number {
  const stack: string[] = [];
  for (let i = start; i < shape.length; i += 1) {
    const c = shape[i]!;
    if (OPEN.has(c)) stack.push(c);
    else if (c in CLOSE) {
      if (stack.pop() !== CLOSE[c]) throw new BicepReadError(`unbalanced '${c}' at offset ${i}`);
      if (stack.length === 0) return i;
    }
  }
  throw new BicepReadError(`unclosed '${shape[start]}' at offset ${start}`);
}

// ---------------------------------------------------------------------------
// Statements

interface Statement {
  readonly text: string;
  readonly shape: string;
  readonly line: number;
}

function statements(scanned: Scan): Statement[] {
  const { code, shape } = scanned;
  const out: Statement[] = [];
  let depth = 0;
  let start = -1;
  let startLine = 0;
  let line = 1;
  for (let i = 0; i <= shape.length; i += 1) {
    const c = i < shape.length ? shape[i]! : '\n';
    if (start === -1 && !/\s/.test(c)) {
      start = i;
      startLine = line;
    }
    if (OPEN.has(c)) depth += 1;
    else if (c in CLOSE) {
      depth -= 1;
      if (depth < 0) throw new BicepReadError(`unbalanced '${c}' on line ${line}`);
    }
    if (c === '\n') {
      if (depth === 0 && start !== -1) {
        out.push({ text: code.slice(start, i).trim(), shape: shape.slice(start, i).trim(), line: startLine });
        start = -1;
      }
      line += 1;
    }
  }
  if (depth !== 0) throw new BicepReadError('unbalanced brackets at end of file');
  return out;
}

/** Splits `= ...rest` of a resource or module into condition, loop and body object. */
function declarationBody(rest: string, restShape: string): { condition?: string; loop?: string; body: BicepObject } {
  const end = restShape.lastIndexOf('}');
  if (end === -1) throw new BicepReadError(`no object body in: ${rest.slice(0, 60)}`);
  // Walk back to the matching '{'.
  let depth = 0;
  let begin = -1;
  for (let i = end; i >= 0; i -= 1) {
    const c = restShape[i]!;
    if (c === '}' || c === ']' || c === ')') depth += 1;
    else if (c === '{' || c === '[' || c === '(') {
      depth -= 1;
      if (depth === 0) {
        begin = i;
        break;
      }
    }
  }
  if (begin === -1) throw new BicepReadError(`unbalanced body in: ${rest.slice(0, 60)}`);
  const header = rest.slice(0, begin).trim();
  const loop = /^\[\s*for\s+([\s\S]+?)\s*:\s*(?:if\b|$)/.exec(header)?.[1];
  const condition = /\bif\s*\(([\s\S]*)\)\s*$/.exec(header)?.[1]?.trim();
  return {
    ...(condition === undefined ? {} : { condition }),
    ...(loop === undefined ? {} : { loop }),
    body: parseObjectLiteral(rest.slice(begin, end + 1)),
  };
}

/** Parses `{ ... }` text into property → raw value. */
export function parseObjectLiteral(text: string): BicepObject {
  const { code, shape } = scan(text);
  const open = shape.indexOf('{');
  if (open === -1) throw new BicepReadError('not an object literal');
  const close = matching(shape, open);
  const entries = new Map<string, string>();
  let i = open + 1;
  while (i < close) {
    // Skip separators.
    while (i < close && /[\s,]/.test(shape[i]!)) i += 1;
    if (i >= close) break;
    const keyMatch = /^(?:([A-Za-z_$][\w$-]*)|('[^\n]*?'))\s*:/.exec(code.slice(i, close));
    if (!keyMatch) throw new BicepReadError(`expected a property name at: ${code.slice(i, i + 40)}`);
    const key = keyMatch[1] ?? keyMatch[2]!.slice(1, -1);
    let j = i + keyMatch[0].length;
    const valueStart = j;
    let depth = 0;
    while (j < close) {
      const c = shape[j]!;
      if (OPEN.has(c)) depth += 1;
      else if (c in CLOSE) depth -= 1;
      else if (depth === 0 && (c === '\n' || c === ',')) {
        // A ternary or operator continued on the next line belongs to this value.
        const ahead = /^[\s,]*([?:.&|])/.exec(shape.slice(j, close));
        if (c === '\n' && ahead && ahead[1] !== undefined) {
          j += 1;
          continue;
        }
        break;
      }
      j += 1;
    }
    entries.set(key, code.slice(valueStart, j).trim());
    i = j;
  }
  return new BicepObject(entries);
}

function collect(path: string, raw: string): BicepFile {
  const scanned = scan(raw);
  const params: BicepParam[] = [];
  const vars: BicepVar[] = [];
  const resources: BicepResource[] = [];
  const modules: BicepModule[] = [];
  const outputs: BicepOutput[] = [];
  let targetScope: string | undefined;
  let decorators: string[] = [];

  for (const st of statements(scanned)) {
    const { text, shape, line } = st;
    if (text.startsWith('@')) {
      decorators.push(text);
      continue;
    }
    const keyword = /^(\w+)/.exec(text)?.[1];
    const restFrom = (m: RegExpExecArray): [string, string] => [text.slice(m[0].length), shape.slice(m[0].length)];
    switch (keyword ?? '') {
      case 'targetScope':
        targetScope = /^targetScope\s*=\s*'(\w+)'/.exec(text)?.[1];
        break;
      case 'param': {
        const m = /^param\s+(\w+)\s+([^=]+?)\s*(?:=\s*([\s\S]+))?$/.exec(text);
        if (!m) throw new BicepReadError(`${path}:${line}: cannot read param`);
        params.push({ name: m[1]!, type: m[2]!.trim(), defaultValue: m[3]?.trim(), decorators, line });
        break;
      }
      case 'var': {
        const m = /^var\s+(\w+)\s*=\s*([\s\S]+)$/.exec(text);
        if (!m) throw new BicepReadError(`${path}:${line}: cannot read var`);
        vars.push({ name: m[1]!, value: m[2]!.trim(), line });
        break;
      }
      case 'resource': {
        const m = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s+(existing\s+)?=\s*/.exec(text);
        if (!m) throw new BicepReadError(`${path}:${line}: cannot read resource`);
        const [rest, restShape] = restFrom(m);
        resources.push({
          symbol: m[1]!,
          type: m[2]!,
          apiVersion: m[3]!,
          existing: m[4] !== undefined,
          condition: undefined,
          loop: undefined,
          ...declarationBody(rest, restShape),
          line,
        });
        break;
      }
      case 'module': {
        const m = /^module\s+(\w+)\s+'([^']+)'\s*=\s*/.exec(text);
        if (!m) throw new BicepReadError(`${path}:${line}: cannot read module`);
        const [rest, restShape] = restFrom(m);
        modules.push({ symbol: m[1]!, path: m[2]!, condition: undefined, loop: undefined, ...declarationBody(rest, restShape), line });
        break;
      }
      case 'output': {
        const m = /^output\s+(\w+)\s+(\S+)\s*=\s*([\s\S]+)$/.exec(text);
        if (!m) throw new BicepReadError(`${path}:${line}: cannot read output`);
        outputs.push({ name: m[1]!, type: m[2]!, value: m[3]!.trim(), decorators, line });
        break;
      }
      default:
        // import, type, func, metadata, extension: not needed by the checks.
        break;
    }
    decorators = [];
  }
  return { path, raw, code: scanned.code, targetScope, params, vars, resources, modules, outputs };
}

/** Reads Bicep source text; `path` is only used in messages and results. */
export function readBicep(raw: string, path = '(text)'): BicepFile {
  return collect(path, raw);
}

/** Every `.bicep` file under `dir` (recursively), keyed by path relative to `root`. */
export function readBicepTree(root: string, dir = 'infra'): Map<string, BicepFile> {
  const files = new Map<string, BicepFile>();
  const walk = (absolute: string): void => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const full = join(absolute, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) {
        const path = relative(root, full).split('\\').join('/');
        files.set(path, readBicep(readFileSync(full, 'utf8'), path));
      }
    }
  };
  walk(join(root, dir));
  return files;
}

// ---------------------------------------------------------------------------
// Values

export type Literal = string | number | boolean;

/** A literal value, or undefined for anything computed. */
export function literal(value: string | undefined): Literal | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+$/.test(v)) return Number(v);
  const s = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(v);
  return s ? s[1]!.replace(/\\(.)/g, '$1') : undefined;
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

/** The literal elements of an array literal (`[ 'a' 'b' ]`, one per line or comma-separated). */
export function literalArray(value: string | undefined): Literal[] | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!v.startsWith('[') || !v.endsWith(']')) return undefined;
  const { code, shape } = scan(v);
  const items: Literal[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < shape.length; i += 1) {
    const c = shape[i]!;
    if (OPEN.has(c)) depth += 1;
    else if (c in CLOSE && depth > 0) depth -= 1;
    else if (depth === 0 && (c === '\n' || c === ',' || i === shape.length - 1)) {
      const item = code.slice(start, i).trim();
      if (item !== '') {
        const lit = literal(item);
        if (lit === undefined) return undefined;
        items.push(lit);
      }
      start = i + 1;
    }
  }
  return items;
}
