import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../../../src/cli/run.js';
import type { StackFile } from '../../../src/local/stack-file.js';

/**
 * A real HTTP server on port 0 answering in the shapes of src/api/routes.ts,
 * so the CLI's fetch, headers, status handling and paging run for real.
 */

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** Defaults to application/json (or application/problem+json for 4xx/5xx). */
  readonly contentType?: string;
  /** Never answer: a hung API or proxy. */
  readonly hang?: boolean;
}

export type Route = (request: SeenRequest) => Reply | undefined;

export interface FakeApi {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Routes are tried in order; the first to answer wins; none answering is a 404 problem. */
  use(...routes: Route[]): void;
  close(): Promise<void>;
}

// Fixtures are API bodies that tests read field by field, like JSON.parse answers.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`../../fixtures/cli/${name}.json`, import.meta.url), 'utf8'));
}

export async function startFakeApi(): Promise<FakeApi> {
  let routes: Route[] = [];
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const text = Buffer.concat(chunks).toString('utf8');
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(seen);
      const reply = routes.map((route) => route(seen)).find((r) => r !== undefined) ?? {
        status: 404,
        body: { type: 'urn:rotor:problem:not-found', title: 'Not found', status: 404, detail: `no route ${seen.method} ${seen.path}` },
      };
      if (reply.hang === true) return;
      const type = reply.contentType ?? (reply.status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8');
      res.writeHead(reply.status, { 'content-type': type });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    requests,
    use: (...r) => {
      routes = r;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Answers `method path` with `reply`; a function reply is called per request (for progressions). */
export function on(method: string, path: string, reply: Reply | ((request: SeenRequest) => Reply)): Route {
  return (request) => (request.method === method && request.path === path ? (typeof reply === 'function' ? reply(request) : reply) : undefined);
}

export const NOW = new Date('2026-11-22T12:00:00.000Z');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly slept: readonly number[];
}

/** Runs the CLI in-process with a fixed clock and an instant sleep that records what it was asked. */
export async function cli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  options: { tty?: boolean; requestTimeoutMs?: number; stackFile?: StackFile; stdin?: string } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const slept: number[] = [];
  const code = await runCli(argv, {
    env,
    stdout: { write: (t: string) => (stdout += t), isTTY: options.tty ?? false },
    stderr: { write: (t: string) => (stderr += t) },
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    now: () => NOW,
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    stackFile: () => options.stackFile,
    ...(options.stdin === undefined ? {} : { readStdin: () => Promise.resolve(options.stdin ?? '') }),
  });
  return { code, stdout, stderr, slept };
}
