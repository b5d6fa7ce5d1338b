import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/index.js';
import { durations, parseIsoDuration } from '../../../src/time/iso-duration.js';
import { literal, resolve } from '../../helpers/bicep.js';
import { fileAt, readInfra, resourceOf } from './infra-files.js';

// The step queue carries the rotation protocol; its settings are part of the
// invariants (I2 exclusivity through sessions, I4 idempotence through
// duplicate detection, I3 termination through dead-lettering).

const files = readInfra();
const main = fileAt(files, 'infra/main.bicep');
const serviceBus = fileAt(files, 'infra/modules/service-bus.bicep');
const queue = resourceOf(serviceBus, 'Microsoft.ServiceBus/namespaces/queues');
const props = queue.body.object('properties')!;

/**
 * A value of service-bus.bicep as a literal: a literal there, or a param whose
 * value main.bicep passes (resolved in main.bicep, default included).
 */
function throughMain(value: string | undefined) {
  const here = resolve(serviceBus, value);
  if (here !== undefined || value === undefined) return here;
  const passed = main.modules.find((m) => m.path === 'modules/service-bus.bicep')?.body.object('params')?.get(value.trim());
  return resolve(main, passed);
}

const queueValue = (name: string) => throughMain(props.get(name));

describe('rotation-steps queue', () => {
  it('requires sessions, so one secret\'s steps run in order on one instance', () => {
    expect(literal(props.get('requiresSession'))).toBe(true);
  });

  it('has duplicate detection on', () => {
    expect(literal(props.get('requiresDuplicateDetection'))).toBe(true);
  });

  it('keeps message ids at least an hour and at most the seven days Service Bus allows', () => {
    const window = queueValue('duplicateDetectionHistoryTimeWindow');
    const ms = typeof window === 'string' ? parseIsoDuration(window) : undefined;

    expect(ms, `duplicate detection window ${String(window)}`).toBeDefined();
    expect(ms!).toBeGreaterThanOrEqual(durations.HOUR);
    expect(ms!).toBeLessThanOrEqual(7 * durations.DAY);
  });

  it('dead-letters after ten deliveries and on expiry, with a one-minute lock', () => {
    expect(literal(props.get('maxDeliveryCount'))).toBe(10);
    expect(literal(props.get('deadLetteringOnMessageExpiration'))).toBe(true);
    expect(literal(props.get('lockDuration'))).toBe('PT1M');
  });

  it('keeps scheduled steps longer than the duplicate-detection window', () => {
    const ttl = parseIsoDuration(String(literal(props.get('defaultMessageTimeToLive'))));
    const window = parseIsoDuration(String(queueValue('duplicateDetectionHistoryTimeWindow')));

    expect(ttl).toBeDefined();
    expect(ttl!).toBeGreaterThan(window!);
  });

  it('is named as Rotor names it by default, and the app setting follows the deployed name', () => {
    const defaults = loadSettings({ ROTOR_ALLOWED_VAULTS: 'https://kv.vault.azure.net', ServiceBusConnection: 'x', LedgerStorage: 'y' });

    expect(throughMain(queue.body.get('name'))).toBe(defaults.stepQueue);
    const functionAppParams = main.modules.find((m) => m.path === 'modules/function-app.bicep')!.body.object('params')!;
    expect(functionAppParams.get('stepQueueName')).toBe('serviceBus.outputs.stepQueueName');
    expect(resolve(main, functionAppParams.get('ledgerContainerName'))).toBe(defaults.ledgerContainer);
  });

  it('lives in a namespace with local (SAS) authentication disabled', () => {
    const namespace = resourceOf(serviceBus, 'Microsoft.ServiceBus/namespaces');

    expect(literal(namespace.body.get('properties.disableLocalAuth'))).toBe(true);
  });
});
