import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSecretIn } from '../../helpers/leaks.js';
import { cli, fixture, on, startFakeApi, type FakeApi, type Reply } from './fake-api.js';

const KEY = 'fk-0123456789abcdef-do-not-print';
let api: FakeApi;
let env: Record<string, string>;

beforeAll(async () => {
  api = await startFakeApi();
  env = { ROTOR_API_URL: api.url, ROTOR_API_KEY: KEY };
});
afterAll(async () => {
  await api.close();
});

const ok = (body: unknown, status = 200): Reply => ({ status, body });

/** Serves `bodies` one per request, repeating the last: a rotation moving on between polls. */
function progression(...bodies: unknown[]): () => Reply {
  let i = 0;
  return () => ok(bodies[Math.min(i++, bodies.length - 1)]);
}

describe('rotor secrets', () => {
  it('prints an aligned table and sends the key only in the x-functions-key header', async () => {
    // Prepare
    api.use(on('GET', '/api/secrets', ok(fixture('secrets'))));
    // Act
    const run = await cli(['secrets'], env);
    // Assess
    expect(run.code).toBe(0);
    expect(api.requests[0]?.headers['x-functions-key']).toBe(KEY);
    expect(api.requests[0]?.query.has('code')).toBe(false);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^SECRET\s+ROTATOR\s+STRATEGY\s+VERSION\s+EXPIRES\s+NEXT DUE\s+LAST ROTATION$/);
    const rotatorColumn = lines[0]!.indexOf('ROTATOR');
    // Every row's rotator starts in the header's column: a space before it, text at it.
    expect(lines.slice(1).map((l) => `${l[rotatorColumn - 1]}|${l[rotatorColumn] === ' ' ? 'blank' : 'text'}`)).toEqual([' |text', ' |text', ' |text']);
    expect(lines[1]).toContain('db-password');
    expect(lines[1]).toContain('2e3f4a5b ');
    expect(lines[1]).toContain('2027-02-20 (in 89d)');
    expect(lines[1]).toContain('Completed 2h ago');
    expect(lines[2]).toContain('active rot-77');
    expect(lines[3]).toMatch(/broken-tags \(disabled\)\s+invalid \(postgres\)/);
    expect(run.stdout + run.stderr).not.toContain(KEY);
  });

  it('passes --vault as a query parameter and --json prints the body as the API sent it', async () => {
    api.use(on('GET', '/api/secrets', ok(fixture('secrets'))));
    const run = await cli(['secrets', '--vault', 'https://kv-demo.vault.azure.net', '--json'], env);
    expect(run.code).toBe(0);
    expect(api.requests[0]?.query.get('vault')).toBe('https://kv-demo.vault.azure.net');
    expect(JSON.parse(run.stdout)).toEqual(fixture('secrets'));
  });
});

describe('rotor history', () => {
  const pages = (): Reply[] => [ok(fixture('history-page-1')), ok(fixture('history-page-2')), ok(fixture('history-page-3'))];
  const byToken = (): ((r: { query: URLSearchParams }) => Reply) => {
    const [p1, p2, p3] = pages();
    return (r) => ({ page2: p2, page3: p3 })[r.query.get('continuationToken') as 'page2' | 'page3'] ?? p1!;
  };

  it('--all follows every nextLink, on the configured host, and lists newest first', async () => {
    api.use(on('GET', '/api/secrets/db-password/rotations', byToken()));
    const run = await cli(['history', 'db-password', '--all'], env);
    expect(run.code).toBe(0);
    expect(api.requests.map((r) => r.query.get('continuationToken'))).toEqual([null, 'page2', 'page3']);
    expect(api.requests.every((r) => r.headers['x-functions-key'] === KEY)).toBe(true);
    const rows = run.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ROTATION\s+STATUS\s+STEP\s+TRIGGER\s+STARTED\s+TOOK\s+REASON$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual(['rot-5', 'rot-4', 'rot-3', 'rot-2', 'rot-1']);
    expect(rows[1]).toMatch(/Completed\s+retire\s+manual\s+2026-11-22 09:00:00Z \(3h ago\)\s+1m/);
    expect(rows[2]).toContain('verify failed: probe answered 503');
  });

  it('--limit stops at N rows and says more exist', async () => {
    api.use(on('GET', '/api/secrets/db-password/rotations', byToken()));
    const run = await cli(['history', 'db-password', '--limit', '3'], env);
    expect(run.code).toBe(0);
    expect(api.requests).toHaveLength(2);
    expect(api.requests[0]?.query.get('limit')).toBe('3');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(1, -1).map((r) => r.split(/\s+/)[0])).toEqual(['rot-5', 'rot-4', 'rot-3']);
    expect(lines.at(-1)).toBe('(showing the newest 3; --limit N or --all for more)');
  });

  it('--json --all prints one body with every item and no nextLink', async () => {
    api.use(on('GET', '/api/secrets/db-password/rotations', byToken()));
    const run = await cli(['history', 'db-password', '--all', '--json', '--vault', 'https://kv-demo.vault.azure.net'], env);
    expect(run.code).toBe(0);
    expect(api.requests[0]?.query.get('vault')).toBe('https://kv-demo.vault.azure.net');
    const body = JSON.parse(run.stdout);
    expect(body.items.map((i: { id: string }) => i.id)).toEqual(['rot-5', 'rot-4', 'rot-3', 'rot-2', 'rot-1']);
    expect(body.items[0].location).toBe('http://127.0.0.1/api/rotations/rot-5');
    expect(body).not.toHaveProperty('nextLink');
  });

  it('stops with an error when the API hands back a link it already followed', async () => {
    api.use(on('GET', '/api/secrets/db-password/rotations', ok(fixture('history-page-1'))));
    const run = await cli(['history', 'db-password', '--all'], env);
    expect(run.code).toBe(1);
    expect(api.requests).toHaveLength(2);
    expect(run.stderr).toBe('error: The API answered the same nextLink twice; stopping\n');
  });

  it('says so when a secret has no rotations', async () => {
    api.use(on('GET', '/api/secrets/fresh/rotations', ok({ secret: { vaultUrl: 'https://kv-demo.vault.azure.net', name: 'fresh' }, items: [] })));
    const run = await cli(['history', 'fresh'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('No rotations of fresh yet.\n');
  });
});

describe('rotor status', () => {
  it('shows state, current step, each step with timing and outcome, versions and trigger reason', async () => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', ok(fixture('rotation-running'))));
    const run = await cli(['status', 'rot-20261122-a1'], env);
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^Status\s+Running\s+step verify, attempt 2$/m);
    expect(out).toMatch(/^Secret\s+db-password in https:\/\/kv-demo\.vault\.azure\.net$/m);
    expect(out).toMatch(/^Trigger\s+manual: quarterly drill$/m);
    expect(out).toMatch(/^Started\s+2026-11-22 11:58:00Z \(2m ago\)$/m);
    expect(out).toMatch(/^Versions {2}previous {2}0a1b2c3d4e5f60718293a4b5c6d7e8f9\n {10}pending {3}1f2e3d4c5b6a79881726354453627180$/m);
    expect(out).toMatch(/^prepare\s+1\s+succeeded\s+11:58:01Z \(1m ago\)\s+2s\s+slot app_b$/m);
    expect(out).toMatch(/^verify\s+1\s+retrying\s+.*probe https:\/\/app\.example\/health 503; health-failed: status 503$/m);
  });

  it('shows why a rotation rolled back and how long it took', async () => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', ok(fixture('rotation-rolled-back'))));
    const run = await cli(['status', 'rot-20261122-a1'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Status\s+RolledBack\s+ended at rollback$/m);
    expect(run.stdout).toMatch(/^Ended\s+2026-11-22 11:59:50Z \(10s ago\), took 1m$/m);
    expect(run.stdout).toMatch(/^Reason\s+verify failed: probe https:\/\/app\.example\/health answered 503 three times$/m);
    expect(run.stdout).toMatch(/^ {10}restored {2}3a4b5c6d7e8f90a1b2c3d4e5f6071829$/m);
  });

  it.each([
    ['Completed', 'rotation-completed', 0],
    ['RolledBack', 'rotation-rolled-back', 3],
  ])('--watch polls until the rotation ends %s and exits %i', async (_status, final, code) => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', progression(fixture('rotation-running'), fixture('rotation-running'), fixture(final))));
    const run = await cli(['status', 'rot-20261122-a1', '--watch'], env);
    expect(run.code).toBe(code);
    expect(api.requests).toHaveLength(3);
    expect(run.slept).toEqual([2000, 2000]);
    expect(run.stdout).toMatch(new RegExp(`^Status\\s+${_status}`, 'm'));
  });

  it.each([[['status', 'rot-20261122-a1', '--json']], [['status', 'rot-20261122-a1', '--json', '--watch']]])(
    '%j prints the record without the policy snapshot\'s raw tags or probe credentials',
    async (argv) => {
      api.use(on('GET', '/api/rotations/rot-20261122-a1', ok(fixture('rotation-with-policy'))));
      const run = await cli(argv, env);
      expect(run.code).toBe(0);
      const body = JSON.parse(run.stdout);
      expect(body.policy).not.toHaveProperty('tags');
      expect(body.policy.health).toEqual([{ url: 'https://app.example/health', expectStatus: 200 }]);
      expect(body.policy.rotator).toBe('postgres');
      expect(body.versions).toEqual(fixture('rotation-with-policy').versions);
      expectNoSecretIn([run.stdout, run.stderr], ['hunter2-pasted-into-a-tag', 'probe-key-123456', 'probe-pass-123456']);
    },
  );

  it('--json --watch prints only the final record', async () => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', progression(fixture('rotation-running'), fixture('rotation-completed'))));
    const run = await cli(['status', 'rot-20261122-a1', '--watch', '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(fixture('rotation-completed'));
  });
});

describe('rotor rotate', () => {
  it('--wait starts the rotation, follows it Running to Completed and exits 0', async () => {
    api.use(
      on('POST', '/api/rotations', ok(fixture('started'), 202)),
      on('GET', '/api/rotations/rot-20261122-a1', progression(fixture('rotation-running'), fixture('rotation-completed'))),
    );
    const run = await cli(['rotate', 'db-password', '--reason', 'quarterly drill', '--wait'], env);
    expect(run.code).toBe(0);
    expect(api.requests[0]?.body).toEqual({ secret: 'db-password', reason: 'quarterly drill' });
    expect(api.requests[0]?.headers['content-type']).toBe('application/json');
    expect(run.stdout).toContain('Started: rotation rot-20261122-a1 of db-password; waiting up to 15m');
    expect(run.stdout).toMatch(/^ {2}Running: next step verify \(attempt 2\)$/m);
    expect(run.stdout).toMatch(/^ {2}retire succeeded$/m);
    expect(run.stdout).toMatch(/^Status\s+Completed\s+ended at retire$/m);
  });

  it('--wait --timeout gives up with exit 4 while the rotation still runs', async () => {
    api.use(on('POST', '/api/rotations', ok(fixture('started'), 202)), on('GET', '/api/rotations/rot-20261122-a1', ok(fixture('rotation-running'))));
    const run = await cli(['rotate', 'db-password', '--wait', '--timeout', '5s'], env);
    expect(run.code).toBe(4);
    expect(run.slept).toEqual([2000, 2000, 1000]);
    expect(run.stderr).toContain('rotation rot-20261122-a1 is still Running at step verify after 5s');
  });

  it('without --wait prints the id and how to follow it, without polling', async () => {
    api.use(on('POST', '/api/rotations', ok(fixture('started'), 202)));
    const run = await cli(['rotate', 'db-password', '--vault', 'https://kv-demo.vault.azure.net'], env);
    expect(run.code).toBe(0);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.body).toEqual({ secret: 'db-password', vault: 'https://kv-demo.vault.azure.net' });
    expect(run.stdout).toBe(
      'Started: rotation rot-20261122-a1 of db-password in https://kv-demo.vault.azure.net\nFollow it with: rotor status rot-20261122-a1 --watch\n',
    );
  });

  it('--dry-run sends dryRun and prints the verdict with each check; "would not rotate" exits 5', async () => {
    api.use(on('POST', '/api/rotations', ok(fixture('dry-run'))));
    const run = await cli(['rotate', 'db-password', '--dry-run'], env);
    expect(run.code).toBe(5);
    expect(api.requests[0]?.body).toEqual({ secret: 'db-password', dryRun: true });
    expect(run.stdout).toContain('Dry run for db-password in https://kv-demo.vault.azure.net: would not rotate');
    expect(run.stdout).toMatch(/^ {2}FAIL health https:\/\/app\.example\/health: 503$/m);
    expect(run.stdout).toMatch(/^ {2}ok {3}policy$/m);
  });
});

describe('errors from the API', () => {
  it.each([
    [
      'busy (409)',
      409,
      'problem-busy',
      [
        'error: A rotation of this secret is already active (HTTP 409)',
        '  Rotation rot-77 of https://kv-demo.vault.azure.net/webhook-token is still active',
        '  secret (body): has an active rotation; poll it and try again once it ends',
        'hint: follow it with: rotor status rot-77 --watch',
      ],
    ],
    [
      'invalid policy (422)',
      422,
      'problem-invalid-policy',
      [
        "error: The secret's Rotor policy is not valid (HTTP 422)",
        '  The policy tags of https://kv-demo.vault.azure.net/broken-tags are not valid: fix the tags named in errors',
        '  rotor-target (tag): is required',
        '  rotor-validity (tag): must be an ISO-8601 duration such as P90D',
      ],
    ],
    [
      'a key that is not accepted (401)',
      401,
      'problem-unauthorized',
      [
        'error: A function key is required (HTTP 401)',
        '  Send the key in the x-functions-key header or the code query parameter',
        'hint: URL did not accept the function key from ROTOR_API_KEY: it is set, but not a key of this API.',
        "hint: npm start makes a new key on every run; without ROTOR_API_URL and ROTOR_API_KEY the CLI reads the running stack's own from .rotor/stack.json",
      ],
    ],
  ])('%s: the title, the detail and one line per field, exit 1', async (_name, status, body, expected) => {
    api.use(on('POST', '/api/rotations', { status, body: fixture(body) }));
    const run = await cli(['rotate', 'webhook-token', '--wait'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual(expected.map((l) => l.replace('hint: URL ', `hint: ${api.url} `)));
    expect(run.stderr).not.toContain(KEY);
  });

  it('--json prints the problem body on stdout for scripts', async () => {
    api.use(on('GET', '/api/rotations/nope', { status: 404, body: fixture('problem-rotation-not-found') }));
    const run = await cli(['status', 'nope', '--json'], env);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(fixture('problem-rotation-not-found'));
    expect(run.stderr).toContain('id (path): no such rotation');
  });

  it('an answer that is not JSON is reported by status line, never by its body', async () => {
    api.use(on('GET', '/api/secrets', { status: 502, body: '<html>upstream said: sensitive-internal-detail</html>', contentType: 'text/html' }));
    const run = await cli(['secrets'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: HTTP 502 Bad Gateway\n');
  });

  it('a 200 in the wrong shape is a clear error, not a crash', async () => {
    api.use(on('GET', '/api/secrets', ok({ hello: 'world' })));
    const run = await cli(['secrets'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: The API answered the secret list in an unexpected shape \(items: .*\): is http:\/\/127\.0\.0\.1:\d+\/api a Rotor API\?\n$/);
  });

  it('a refused connection is one line naming the URL and how to set it', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/api`;
    const fromEnv = await cli(['secrets'], { ROTOR_API_URL: url, ROTOR_API_KEY: KEY });
    const fromDefault = await cli(['secrets', '--url', url], {});
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(`error: cannot reach the Rotor API at ${url} (connection refused); check ROTOR_API_URL\n`);
    expect(fromDefault.stderr).toBe(`error: cannot reach the Rotor API at ${url} (connection refused); check --url\n`);
  });

  it('an API that never answers is given up on with a one-line error', async () => {
    api.use(on('GET', '/api/secrets', { status: 200, body: '', hang: true }));
    const run = await cli(['secrets'], env, { requestTimeoutMs: 200 });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot reach the Rotor API at ${api.url} (no answer in time); check ROTOR_API_URL\n`);
  });

  it('--dry-run that would rotate exits 0', async () => {
    const body = fixture('dry-run');
    body.report.wouldRotate = true;
    api.use(on('POST', '/api/rotations', ok(body)));
    const run = await cli(['rotate', 'db-password', '--dry-run'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('would rotate');
  });

  it('a key pasted into the URL as ?code= moves to the header and is never shown', async () => {
    api.use(on('GET', '/api/secrets', { status: 500, body: { type: 'urn:rotor:problem:internal-error', title: 'Rotor could not complete the request', status: 500, detail: 'Retry later.' } }));
    const run = await cli(['secrets', '--url', `${api.url}?code=${KEY}`], {});
    expect(run.code).toBe(1);
    expect(api.requests[0]?.headers['x-functions-key']).toBe(KEY);
    expect(api.requests[0]?.query.has('code')).toBe(false);
    expect(run.stderr).toBe('error: Rotor could not complete the request (HTTP 500)\n  Retry later.\n');
    expect(run.stdout + run.stderr).not.toContain(KEY);
  });
});

describe('usage errors', () => {
  it('exit 2, name the flag, and send no request', async () => {
    api.use(on('GET', '/api/secrets/x/rotations', ok(fixture('history-page-3'))));
    const run = await cli(['history', 'x', '--limt', '3'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("rotor: unknown flag --limt for 'rotor history' (see rotor help history)\nRun 'rotor help' for the commands and flags.\n");
    expect(api.requests).toHaveLength(0);
  });
});

describe('colour', () => {
  it.each([
    ['a terminal', [], {}, true],
    ['--no-color', ['--no-color'], {}, false],
    ['NO_COLOR', [], { NO_COLOR: '1' }, false],
  ])('on %s: ANSI colour %s', async (_name, flags, extraEnv, coloured) => {
    api.use(on('GET', '/api/rotations/rot-20261122-a1', ok(fixture('rotation-completed'))));
    const run = await cli(['status', 'rot-20261122-a1', ...flags], { ...env, ...extraEnv }, { tty: true });
    expect(run.code).toBe(0);
    expect(run.stdout.includes('\u001b[32mCompleted\u001b[0m')).toBe(coloured);
    expect(run.stdout.includes('\u001b[')).toBe(coloured);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close((e) => (e ? reject(e) : resolve(port)));
    });
  });
}
