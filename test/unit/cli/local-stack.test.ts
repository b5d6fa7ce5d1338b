import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StackFile } from '../../../src/local/stack-file.js';
import { cli, fixture, on, startFakeApi, type FakeApi } from './fake-api.js';

/** The CLI and the running local stack (`.rotor/stack.json`): no URL or key to copy. */

const STACK_KEY = 'stack-key-0123456789-do-not-print';
let api: FakeApi;
let stack: StackFile;

beforeAll(async () => {
  api = await startFakeApi();
  stack = { pid: 4242, startedAt: '2026-12-04T21:00:00.000Z', state: 'running', api: { baseUrl: api.url, functionKey: STACK_KEY } };
});
afterAll(async () => {
  await api.close();
});

describe('rotor with a running local stack', () => {
  it('uses the URL and key from .rotor/stack.json when neither is set', async () => {
    // Prepare
    api.use(on('GET', '/api/secrets', { status: 200, body: fixture('secrets') }));
    // Act
    const run = await cli(['secrets'], {}, { stackFile: stack });
    // Assess
    expect(run.code).toBe(0);
    expect(api.requests[0]?.headers['x-functions-key']).toBe(STACK_KEY);
    expect(run.stdout + run.stderr).not.toContain(STACK_KEY);
  });

  it('ROTOR_API_URL wins over the stack file, and then its key is not sent elsewhere', async () => {
    api.use(on('GET', '/api/secrets', { status: 200, body: fixture('secrets') }));
    const run = await cli(['secrets'], { ROTOR_API_URL: api.url }, { stackFile: { ...stack, api: { baseUrl: 'http://127.0.0.1:1/api', functionKey: STACK_KEY } } });
    expect(run.code).toBe(0);
    expect(api.requests[0]?.headers['x-functions-key']).toBeUndefined();
  });

  it('a stale stack key is said to be not accepted, naming the stack file', async () => {
    api.use(on('GET', '/api/secrets', { status: 401, body: fixture('problem-unauthorized') }));
    const run = await cli(['secrets'], {}, { stackFile: stack });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`hint: ${api.url} did not accept the function key from .rotor/stack.json`);
    expect(run.stderr).not.toContain('set ROTOR_API_KEY');
  });

  it('without any key the hint says to set one', async () => {
    api.use(on('GET', '/api/secrets', { status: 401, body: fixture('problem-unauthorized') }));
    const run = await cli(['secrets'], { ROTOR_API_URL: api.url });
    expect(run.stderr).toContain(`hint: ${api.url} wants a function key: set ROTOR_API_KEY (or --key)`);
  });

  it('a stack file whose stack is gone: the error says npm start may have stopped', async () => {
    const run = await cli(['secrets'], {}, { stackFile: { ...stack, api: { baseUrl: 'http://127.0.0.1:1/api', functionKey: STACK_KEY } } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\.rotor\/stack\.json names it, but the stack \(pid 4242\) does not answer: is npm start still running\?/);
  });

  it('history of a secret that does not exist reports the 404 and its field, exit 1', async () => {
    api.use(
      on('GET', '/api/secrets/nope/rotations', {
        status: 404,
        body: {
          type: 'urn:rotor:problem:secret-not-found',
          title: 'The secret does not exist',
          status: 404,
          detail: 'https://kv/nope does not exist',
          errors: [{ field: 'name', in: 'path', detail: 'no secret of this name in https://kv, and no rotation of one' }],
        },
      }),
    );
    const run = await cli(['history', 'nope'], {}, { stackFile: stack });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('name (path): no secret of this name');
  });
});

describe('rotor secrets set', () => {
  it('without a running stack says it is for the local stack, exit 2, and sends nothing', async () => {
    api.use();
    const run = await cli(['secrets', 'set', 'my-secret', '--tag', 'rotor-rotator=random'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('none is running here (no .rotor/stack.json): start one with npm start');
    expect(api.requests).toHaveLength(0);
  });

  it.each([
    [['secrets', 'set'], 'secrets set needs a secret name'],
    [['secrets', 'set', 'bad_name'], "'bad_name' is not a Key Vault secret name"],
    [['secrets', 'set', 'ok', '--tag', 'novalue'], "--tag takes KEY=VALUE, got 'novalue'"],
    [['secrets', 'set', 'ok', '--expires', 'soon'], "--expires must be a duration from now such as P7D, 90m or 48h, got 'soon'"],
    [['secrets', '--tag', 'a=b'], "--tag applies only to 'rotor secrets set NAME'"],
  ])('%j is a usage error: %s', async (argv, message) => {
    const run = await cli(argv, {}, { stackFile: stack });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
