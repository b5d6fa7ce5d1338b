import { describe, expect, it } from 'vitest';
import { rotorStepQueue } from '../../../emulators/servicebus/rotor-queues.js';
import { durations, parseIsoDuration } from '../../../src/time/iso-duration.js';
import { literal, resolve } from '../../helpers/bicep.js';
import { fileAt, readInfra, resourceOf } from './infra-files.js';

// Local means Azure: the step queue the local stack creates is the one
// infra/ deploys, setting by setting, so the local host's redelivery and
// dead-lettering happen after as many deliveries as in Azure.

const files = readInfra();
const serviceBus = fileAt(files, 'infra/modules/service-bus.bicep');
const main = fileAt(files, 'infra/main.bicep');
const props = resourceOf(serviceBus, 'Microsoft.ServiceBus/namespaces/queues').body.object('properties')!;

describe('the local step queue', () => {
  it('dead-letters after the max delivery count infra/ sets', () => {
    expect(rotorStepQueue.maxDeliveryCount).toBe(literal(props.get('maxDeliveryCount')));
  });

  it('locks for as long, with sessions and dead-lettering on expiry as in infra/', () => {
    expect(rotorStepQueue.lockDurationMs).toBe(parseIsoDuration(String(literal(props.get('lockDuration')))));
    expect(rotorStepQueue.requiresSession).toBe(literal(props.get('requiresSession')));
    expect(rotorStepQueue.deadLetteringOnMessageExpiration).toBe(literal(props.get('deadLetteringOnMessageExpiration')));
  });

  it('detects duplicates over the window main.bicep deploys by default', () => {
    expect(literal(props.get('requiresDuplicateDetection'))).toBe(true);
    expect(resolve(main, 'duplicateDetectionWindow')).toBe('P1D');
    expect(rotorStepQueue.duplicateDetectionWindowMs).toBe(durations.DAY);
  });
});
