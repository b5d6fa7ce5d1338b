import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createDemoProvider } from '../examples/webhook-receiver/demo-provider.js';
import { createRotorReceiver } from '../examples/webhook-receiver/receiver.js';
import { createPostgresRotator } from '../src/rotators/postgres/index.js';
import { createWebhookRotator } from '../src/rotators/webhook/index.js';
import { startTestPostgres } from '../test/helpers/embedded-postgres.js';
import { createTestCertificate } from '../test/helpers/https-certificate.js';
import { promoted, testRotatorContext } from '../test/helpers/rotator-context.js';
import { engineView } from '../test/helpers/rotator-harness.js';

/**
 * How long the rotators' steps take against a local PostgreSQL and a local
 * HTTPS receiver: the rotator's own cost (connections, SCRAM hashing, TLS,
 * signing), without network distance.
 */
function summary(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  console.log(`${label}: median ${at(0.5)} ms, p95 ${at(0.95)} ms (n=${samples.length})`);
}

async function timed(samples: number[], work: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  await work();
  samples.push(performance.now() - start);
}

async function postgres(): Promise<void> {
  const startedAt = performance.now();
  const db = await startTestPostgres();
  console.log(`embedded PostgreSQL initdb + start: ${(performance.now() - startedAt).toFixed(0)} ms`);
  try {
    const adminPassword = `admin-${randomUUID()}`;
    await db.query(await readFile(new URL('../docs/rotators/postgres-alternating.sql', import.meta.url), 'utf8'));
    await db.query(`ALTER ROLE rotor_admin PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await db.query(`ALTER ROLE app_a PASSWORD ${pg.escapeLiteral('initial-password-1234')}`);
    const rotator = engineView(createPostgresRotator());
    let context = testRotatorContext({
      rotator: 'postgres',
      strategy: 'alternating',
      target: 'app_a,app_b',
      tags: { 'rotor-pg-server': db.serverUrl, 'rotor-pg-admin-secret': 'pg-admin' },
      vault: { 'pg-admin': JSON.stringify({ username: 'rotor_admin', password: adminPassword }) },
      current: { value: JSON.stringify({ username: 'app_a', password: 'initial-password-1234' }), slot: 'app_a' },
    });
    const prepare: number[] = [];
    const test: number[] = [];
    const revoke: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      let prepared = undefined as Awaited<ReturnType<typeof rotator.prepare>> | undefined;
      await timed(prepare, async () => (prepared = await rotator.prepare(context)));
      await timed(test, () => rotator.test(context, prepared!.value));
      const next = promoted(context, prepared!, { rotationId: randomUUID() });
      await timed(revoke, () => rotator.revoke!(next, context.current));
      context = next;
    }
    summary('postgres alternating prepare (admin login, role checks, ALTER ROLE)', prepare);
    summary('postgres test (login with the new credential, SELECT)', test);
    summary('postgres revoke (login check, admin login, ALTER ROLE)', revoke);
  } finally {
    await db.stop();
  }
}

async function webhook(): Promise<void> {
  const { cert, key } = await createTestCertificate();
  const signingKey = `whsec-${randomUUID()}`;
  const provider = createDemoProvider({ key1: 'initial-api-key-1234' });
  const server = createServer({ cert, key }, createRotorReceiver({ signingKey, handle: (r) => provider.handle(r) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const rotator = engineView(createWebhookRotator({ ca: cert }));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rotor`;
    const samples: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      const context = testRotatorContext({
        rotator: 'webhook',
        strategy: 'alternating',
        tags: { 'rotor-webhook-url': url, 'rotor-webhook-signing-secret': 'signing-key' },
        vault: { 'signing-key': signingKey },
        current: { value: 'initial-api-key-1234', slot: 'key1' },
      });
      await timed(samples, () => rotator.prepare(context));
    }
    summary('webhook prepare (sign, HTTPS round trip on a kept-alive connection, verify, answer, validate)', samples);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export default async function run(): Promise<void> {
  await postgres();
  await webhook();
}
