import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatorSecretClient } from '../../emulators/keyvault/index.js';
import { runRevokeScenario, type RevokeOutcome } from '../../src/local/demo/revoke-scenario.js';
import type { ScenarioResult } from '../../src/local/demo/scenario.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { createLogger, createMemorySink } from '../../src/observability/logger.js';
import { expectNoSecretIn } from '../helpers/leaks.js';

/**
 * `npm run demo`'s revoke scenario on the local stack as `npm start` runs it
 * (issue #13): the same alternating PostgreSQL rotation with revoke, on two
 * logins each used by an App Service site in the ARM stand-in and an https
 * app. Without `rotor-consumers` the revoke breaks them; with it, Rotor
 * nudges them through the stand-in and the app, waits for their adoption,
 * and no consumer request fails.
 */

let stack: LocalStack;
const sink = createMemorySink();
let results: ScenarioResult[];
let outcomes: RevokeOutcome[];

beforeAll(async () => {
  stack = await startLocalStack({ log: createLogger(sink, { level: 'info' }), port: 0, demo: true, scenarios: 'seed', timers: 'manual', eventGridRetryTimeScale: 0.01 });
  ({ results, outcomes } = await runRevokeScenario(stack, () => undefined, 200_000));
});

afterAll(async () => {
  await stack?.stop();
});

const outcome = (declared: boolean): RevokeOutcome => {
  const found = outcomes.find((o) => o.secret.declared === declared);
  expect(found, `outcome with declared=${declared}`).toBeDefined();
  return found!;
};

describe('the revoke scenario: consumers declared or not', () => {
  it('without rotor-consumers the rotation completes and its revoke breaks both consumers (their requests fail)', () => {
    const o = outcome(false);
    expect(o.status, o.reason).toBe('Completed');
    expect(o.adoption).toEqual([]);
    expect(o.consumers.map((c) => c.kind).sort()).toEqual(['appservice', 'https']);
    for (const c of o.consumers) expect(c.failed, `${c.kind} ${c.name}`).toBeGreaterThan(0);
    expect(results.find((r) => r.scenario === 'Revoke, consumers undeclared')?.ok).toBe(true);
  });

  it('with rotor-consumers the App Service site and the https app are nudged, adopt, and no consumer request fails', () => {
    const o = outcome(true);
    expect(o.status, o.reason).toBe('Completed');
    expect(o.adoption.map((c) => c.state)).toEqual(['adopted', 'adopted']);
    expect(o.adoption.map((c) => c.entry)).toEqual([...o.secret.entries]);
    for (const c of o.consumers) {
      expect(c.failed, `${c.kind} ${c.name}: last failure ${c.lastFailure ?? '-'}`).toBe(0);
      expect(c.ok).toBeGreaterThan(8);
    }
    // The site was refreshed through ARM (the stand-in), not by its timer.
    expect(stack.scenarios?.ground.standIn.admin.webSite(o.secret.site).refreshes).toBeGreaterThanOrEqual(1);
    expect(results.find((r) => r.scenario === 'Revoke, rotor-consumers')?.ok).toBe(true);
  });

  it('both consumers of the declared login now use the promoted version; the undeclared site still resolves the old one', async () => {
    const client = createEmulatorSecretClient(stack.emulators.keyVault);
    const declared = outcome(true);
    const latest = (await client.getSecret(declared.secret.name)).properties.version;
    expect(stack.revokeDemo?.consumers(declared.secret.name).map((c) => c.version)).toEqual([latest, latest]);
    const undeclared = outcome(false);
    const newest = (await client.getSecret(undeclared.secret.name)).properties.version;
    expect(stack.revokeDemo?.consumers(undeclared.secret.name).every((c) => c.version !== newest)).toBe(true);
  });

  it('no value of these logins reached Rotor’s log', async () => {
    const client = createEmulatorSecretClient(stack.emulators.keyVault);
    const values: string[] = [];
    for (const o of outcomes) {
      for await (const version of client.listPropertiesOfSecretVersions(o.secret.name)) {
        if (version.enabled === false) continue;
        const value = (await client.getSecret(o.secret.name, { version: version.version! })).value;
        if (value !== undefined) values.push(value);
      }
    }
    expect(values.length).toBeGreaterThanOrEqual(2);
    expectNoSecretIn(sink.records.map((r) => JSON.stringify(r)), values);
  });
});
