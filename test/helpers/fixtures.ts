import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Parsed JSON of `test/fixtures/<path>`. */
export function fixture(path: string): unknown {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url)), 'utf8')) as unknown;
}
