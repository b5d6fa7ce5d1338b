import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHealthProbe } from '../../../src/health/http-probe.js';

let server: Server;
let base: string;
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    if (path === '/ok') return void response.writeHead(200).end('ok');
    if (path === '/no-content') return void response.writeHead(204).end();
    if (path === '/down') return void response.writeHead(503).end();
    if (path === '/redirect') return void response.writeHead(302, { location: '/ok' }).end();
    if (path === '/flaky') return void response.writeHead(hit % 2 === 1 ? 200 : 500).end();
    if (path === '/slow') return void setTimeout(() => response.writeHead(200).end(), 2_000);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('HTTP health probe', () => {
  // A generous timeout wherever the server answers at once, so a busy machine cannot
  // turn a quick answer into a timeout; only the timeout case uses a short one.
  const probe = createHttpHealthProbe({ timeoutMs: 30_000, consecutivePasses: 2 });
  const impatientProbe = createHttpHealthProbe({ timeoutMs: 200, consecutivePasses: 2 });

  it('is healthy when every target answers its expected status on every pass', async () => {
    const result = await probe.check([{ url: `${base}/ok`, expectStatus: 200 }, { url: `${base}/no-content`, expectStatus: 204 }]);
    expect(result).toEqual({ healthy: true });
  });

  it.each([
    ['an error status', '/down', 'answered 503 (expected 200)'],
    ['a redirect (not followed)', '/redirect', 'answered 302 (expected 200)'],
    ['a second pass that fails', '/flaky', 'on pass 2 of 2'],
  ])('is unhealthy on %s, saying why', async (_name, path, why) => {
    // Act
    const result = await probe.check([{ url: `${base}/ok`, expectStatus: 200 }, { url: `${base}${path}`, expectStatus: 200 }]);

    // Assess
    expect(result.healthy).toBe(false);
    expect(result.healthy ? '' : result.reason).toContain(why);
    expect(result.healthy ? '' : result.reason).toContain(`${base}${path}`);
  });

  it('is unhealthy on a timeout, saying after how long', async () => {
    const result = await impatientProbe.check([{ url: `${base}/slow`, expectStatus: 200 }]);

    expect(result.healthy).toBe(false);
    expect(result.healthy ? '' : result.reason).toContain('timed out after 200 ms');
    expect(result.healthy ? '' : result.reason).toContain(`${base}/slow`);
  });

  it('names a target that cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const result = await probe.check([{ url: `http://127.0.0.1:${port}/health`, expectStatus: 200 }]);

    expect(result).toMatchObject({ healthy: false, reason: expect.stringContaining('could not be reached (ECONNREFUSED)') });
  });

  it('never repeats the query string, which may carry a key', async () => {
    const result = await probe.check([{ url: `${base}/down?code=function-key-abcdef123`, expectStatus: 200 }]);
    expect(result.healthy ? '' : result.reason).not.toContain('function-key-abcdef123');
  });
});
