import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rotorFunctions } from '../../../src/local/catalogue.js';

const functionsDir = fileURLToPath(new URL('../../../functions/', import.meta.url));

/** Every `app.<trigger>('<name>', <options>)` call in functions/. */
function registeredInFunctions(): { name: string; trigger: string }[] {
  return readdirSync(functionsDir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...readFileSync(`${functionsDir}${f}`, 'utf8').matchAll(/app\.(\w+)\('(\w+)'/g)].map((m) => ({ trigger: m[1]!, name: m[2]! })));
}

describe('rotorFunctions', () => {
  it('hosts every function functions/ registers, under the same name and trigger', () => {
    // Act
    const registered = registeredInFunctions();

    // Assess
    expect(rotorFunctions.map((f) => ({ name: f.name, trigger: f.trigger })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      registered.sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it.each([
    ['startRotation', 'POST', 'rotations'],
    ['getRotation', 'GET', 'rotations/{id}'],
    ['listSecretRotations', 'GET', 'secrets/{name}/rotations'],
    ['listSecrets', 'GET', 'secrets'],
  ])('%s answers %s %s with a function key', (name, method, route) => {
    const fn = rotorFunctions.find((f) => f.name === name);

    expect(fn?.trigger === 'http' && fn.options).toMatchObject({ methods: [method], route, authLevel: 'function' });
  });

  it('binds the sweep and the dead-letter handler to the app settings the Bicep sets', () => {
    const sweep = rotorFunctions.find((f) => f.name === 'sweep');
    const deadLetters = rotorFunctions.find((f) => f.name === 'rotationDeadLetters');

    expect(sweep?.trigger === 'timer' && sweep.options.schedule).toBe('%ROTOR_SWEEP_SCHEDULE%');
    expect(deadLetters?.trigger === 'serviceBusQueue' && deadLetters.options).toMatchObject({
      connection: 'ServiceBusConnection',
      queueName: '%ROTOR_STEP_QUEUE%/$DeadLetterQueue',
      isSessionsEnabled: false,
    });
  });
});
