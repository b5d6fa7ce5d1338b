import { z } from 'zod';
import { apiCaller, startRotation } from './api-call.js';
import { createEmulatorSecretClient } from '../../../emulators/keyvault/index.js';
import { SecretValue } from '../../secrecy/secret-value.js';
import { startDemoHttpsConsumer } from '../consumer-apps/https-consumer.js';
import type { LocalStack } from '../stack.js';
import type { ScenarioResult } from './scenario.js';

/**
 * The consumers scenario of `npm run demo` (issue #13): two secrets with a
 * one-hour grace, each read by an https consumer that speaks Rotor's consumer
 * protocol. One consumer re-reads the secret when nudged: the rotation
 * completes in seconds, not after the hour. The other ignores the nudge and
 * keeps the old version: the rotation rolls back at the adoption timeout,
 * naming it, and the old value is the latest again — nothing is retired
 * while a declared consumer still uses it.
 */
const rotationView = z.object({ id: z.string(), status: z.string(), reason: z.string().optional(), adoption: z.object({ consumers: z.array(z.object({ state: z.string() })) }).optional() });
const terminal = new Set(['Completed', 'RolledBack', 'Failed', 'Aborted', 'Skipped']);

export async function runConsumersScenario(stack: LocalStack, say: (line: string) => void, timeoutMs = 120_000): Promise<ScenarioResult[]> {
  const { api, keyVault, settings } = stack.endpoints();
  const signingKey = settings.ROTOR_CONSUMER_SIGNING_KEY;
  if (signingKey === undefined) return [{ scenario: 'Consumers', expected: 'a signing key', observed: 'ROTOR_CONSUMER_SIGNING_KEY not set', ok: false }];
  const officer = createEmulatorSecretClient(keyVault);
  const consumers = await startDemoHttpsConsumer({ client: createEmulatorSecretClient(keyVault, { role: 'user' }), signingKey: SecretValue.from(signingKey) });
  const call = apiCaller(api);
  const deadline = Date.now() + timeoutMs;
  const rotate = async (secret: string): Promise<z.infer<typeof rotationView> | undefined> => {
    const { rotationId } = await startRotation(call, { secret, reason: 'demo: consumers move with the secret' }, deadline);
    if (rotationId === undefined) return undefined;
    for (;;) {
      const rotation = rotationView.parse((await call(`/rotations/${encodeURIComponent(rotationId)}`)).body);
      if (terminal.has(rotation.status) || Date.now() > deadline) return rotation;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const seed = async (name: string, mode: 'adopt' | 'ignore'): Promise<string> => {
    await officer.setSecret(name, `demo-${Math.random().toString(36).slice(2)}-${Date.now()}`, {
      tags: { 'rotor-rotator': 'random', 'rotor-grace': 'PT1H', 'rotor-adoption-timeout': 'PT10S' },
    });
    const url = await consumers.addConsumer(name, name, mode);
    const latest = await officer.getSecret(name);
    await officer.updateSecretProperties(name, latest.properties.version ?? '', { tags: { ...latest.properties.tags, 'rotor-consumers': url } });
    return url;
  };
  try {
    const results: ScenarioResult[] = [];
    say('5. demo-orders-token has a one-hour grace and a consumer that re-reads it when nudged…');
    await seed('demo-orders-token', 'adopt');
    const started = Date.now();
    const adopted = await rotate('demo-orders-token');
    const took = Math.round((Date.now() - started) / 1000);
    results.push({
      scenario: 'Consumer adopts on nudge',
      expected: 'Completed well before 1 h',
      observed: `${adopted?.status ?? 'not started'} in ${took} s, consumer ${adopted?.adoption?.consumers[0]?.state ?? '?'}`,
      ok: adopted?.status === 'Completed' && adopted.adoption?.consumers[0]?.state === 'adopted' && took < 600,
    });

    say('6. demo-billing-token has a consumer that ignores the nudge and keeps the old version…');
    const url = await seed('demo-billing-token', 'ignore');
    const before = (await officer.getSecret('demo-billing-token')).properties.version;
    const ignored = await rotate('demo-billing-token');
    const after = (await officer.getSecret('demo-billing-token')).properties.version;
    const oldStillEnabled = (await officer.getSecret('demo-billing-token', { version: before ?? '' })).properties.enabled !== false;
    results.push({
      scenario: 'Consumer ignores the nudge',
      expected: 'RolledBack naming it, old kept',
      observed: `${ignored?.status ?? 'not started'}${ignored?.reason?.includes(url) === true ? ', names it' : ''}${oldStillEnabled ? ', old enabled' : ''}`,
      ok: ignored?.status === 'RolledBack' && ignored.reason?.includes(url) === true && oldStillEnabled && after !== before,
    });
    return results;
  } finally {
    await consumers.stop();
  }
}
