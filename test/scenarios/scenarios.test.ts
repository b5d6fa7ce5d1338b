import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { runScenarios, type ScenarioOutcome } from '../../src/local/scenarios/run.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

/**
 * Every seeded scenario through the whole local stack, as `npm start` runs it:
 * the operator API starts each rotation, steps travel on the Service Bus
 * emulator, the rotators act on the stand-ins (ARM/Graph, Azurite accounts,
 * the HTTPS business-events topic, PostgreSQL, the example webhook receiver)
 * while each consumer keeps using its TTL-cached credential. Two rounds, so
 * alternating credentials go through both slots.
 */

let stack: LocalStack;
const sink = createMemorySink();
let outcomes: ScenarioOutcome[];

beforeAll(async () => {
  stack = await startLocalStack({ log: createLogger(sink, { level: 'info' }), port: 0, scenarios: 'seed', timers: 'manual', eventGridRetryTimeScale: 0.01 });
  outcomes = await runScenarios(stack.scenarios?.scenarios() ?? [], { api: stack.endpoints().api, rounds: 2, timeoutMs: 240_000 });
});

afterAll(async () => {
  await stack?.stop();
});

describe('the seeded scenarios on the local stack', () => {
  it('seeds one managed secret per rotator beyond random', () => {
    const rotators = outcomes.flatMap((o) => o.secrets.map((s) => s.rotator)).sort();
    expect(rotators).toEqual(['entra-app-secret', 'eventgrid-topic-key', 'postgres', 'storage-account-key', 'storage-sas', 'webhook']);
  });

  it.each(['business-events', 'sas-uploader', 'storage-app', 'postgres-app', 'webhook-partner'])(
    '%s: every rotation Completed, its consumer kept working with zero failed requests, and used the new versions',
    (name) => {
      const outcome = outcomes.find((o) => o.scenario === name);
      expect(outcome, `scenario ${name}`).toBeDefined();
      // On a failure, the rotations' log lines say which step went wrong and why.
      const names = new Set(outcome!.secrets.map((x) => x.name));
      const log = sink.records
        .filter((r) => typeof r.fields.secretRef === 'string' && names.has(r.fields.secretRef.split('/').at(-1) ?? ''))
        .map((r) => `${r.level} ${r.message} ${JSON.stringify({ ...r.fields, secretRef: undefined })}`)
        .join('\n');
      expect(outcome!.rotations.map((r) => `${r.secret}: ${r.status}${r.reason === undefined ? '' : ` (${r.reason})`}`), log).toEqual(
        outcome!.rotations.map((r) => `${r.secret}: Completed`),
      );
      expect(outcome!.requests.failed, `last failure: ${outcome!.requests.lastFailure ?? '-'}`).toBe(0);
      expect(outcome!.requests.ok).toBeGreaterThan(10);

      expect(outcome!.requests.versions).toBeGreaterThanOrEqual(2 * outcome!.secrets.length);
    },
  );

  it('business events: every event the topic accepted reached the subscriber, across both key and both client-secret rotations', () => {
    const events = outcomes.find((o) => o.scenario === 'business-events')?.events;
    expect(events?.published).toBeGreaterThan(10);
    expect(events?.received).toBe(events?.published);
  });

  it('no secret value reached Rotor’s log', async () => {
    const client = createEmulatorSecretClient(stack.emulators.keyVault);
    const values: string[] = [];
    for (const secret of outcomes.flatMap((o) => o.secrets)) {
      for await (const version of client.listPropertiesOfSecretVersions(secret.name)) {
        // Retired versions are disabled and Key Vault will not read them; the enabled ones are the latest values.
        if (version.enabled === false) continue;
        const value = (await client.getSecret(secret.name, { version: version.version! })).value;
        if (value !== undefined) values.push(value);
      }
    }
    expect(values.length).toBeGreaterThanOrEqual(6);
    expectNoSecretIn(sink.records.map((r) => JSON.stringify(r)), values);
  });
});
