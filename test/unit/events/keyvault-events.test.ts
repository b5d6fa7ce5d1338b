import { describe, expect, it } from 'vitest';
import {
  parseEventEnvelope,
  parseKeyVaultSecretEvent,
  readValidationCode,
  splitDelivery,
} from '../../../src/events/keyvault-events.js';
import { fixture } from '../../helpers/fixtures.js';

function firstEvent(path: string): unknown {
  const split = splitDelivery(fixture(`events/keyvault/${path}`));
  if (!split.ok) throw new Error(split.problems.join('; '));
  return split.value[0];
}

function parse(input: unknown) {
  const envelope = parseEventEnvelope(input);
  if (!envelope.ok) return envelope;
  return parseKeyVaultSecretEvent(envelope.value);
}

describe('Key Vault secret events', () => {
  it.each([
    ['secret-near-expiry.eventgrid.json', 'EventGrid', 'Microsoft.KeyVault.SecretNearExpiry', 'db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', 1795536000],
    ['secret-near-expiry.cloudevents.json', 'CloudEvents', 'Microsoft.KeyVault.SecretNearExpiry', 'db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', 1795536000],
    ['secret-expired.eventgrid-numbers.json', 'EventGrid', 'Microsoft.KeyVault.SecretExpired', 'api-key', '0f3a1c5e7b9d4f2a8c6e0b1d3f5a7c9e', 1795536000],
    ['secret-near-expiry.camelcase.json', 'EventGrid', 'Microsoft.KeyVault.SecretNearExpiry', 'db-password', 'ee059b2bb5bc48398a53b168c6cdcb10', 1795536000],
    ['secret-near-expiry.docs-quirks.json', 'EventGrid', 'Microsoft.KeyVault.SecretNearExpiry', 'newsecret', 'ee059b2bb5bc48398a53b168c6cdcb10', 1559082102],
  ])('reads %s', (path, schema, type, name, version, exp) => {
    // Act
    const result = parse(firstEvent(path));

    // Assess
    expect(result).toMatchObject({
      ok: true,
      value: { schema, eventType: type, secret: { vaultUrl: 'https://sample-kv.vault.azure.net', name }, version, expiresOn: new Date(exp * 1000) },
    });
  });

  it('splits a CloudEvents batch and keeps a null NBF as absent', () => {
    const split = splitDelivery(fixture('events/keyvault/batch.cloudevents.json'));

    expect(split.ok && split.value.length).toBe(2);
    const second = parse(split.ok ? split.value[1] : undefined);
    expect(second.ok && second.value.notBefore).toBeUndefined();
    expect(second.ok && second.value.secret.name).toBe('api-key');
  });

  it.each([
    ['a string', 'hello', 'an event must be a JSON object'],
    ['no schema marker', { id: 'x', data: {} }, 'not an Event Grid event'],
    ['CloudEvents 0.3', { id: 'x', source: 's', type: 't', specversion: '0.3' }, 'specversion must be "1.0"'],
    ['Event Grid without id', { eventType: 't', subject: 's', data: {} }, 'id'],
  ])('rejects an envelope that is %s', (_case, input, problem) => {
    const result = parseEventEnvelope(input);

    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join(' ')).toContain(problem);
  });

  const envelope = (data: unknown) => ({ id: 'e1', eventType: 'Microsoft.KeyVault.SecretNearExpiry', subject: 's', data });
  const goodData = {
    Id: 'https://sample-kv.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef',
    ObjectType: 'Secret',
    ObjectName: 'db',
    Version: '0123456789abcdef0123456789abcdef',
  };

  it.each([
    ['data that is not an object', 42, 'data: must be an object'],
    ['an Id that is not a URL', { ...goodData, Id: 'not a url' }, 'data.Id'],
    ['an Id of a key, not a secret', { ...goodData, Id: 'https://sample-kv.vault.azure.net/keys/db/0123456789abcdef0123456789abcdef' }, 'data.Id'],
    ['an ObjectName that disagrees with Id', { ...goodData, ObjectName: 'other' }, 'data.ObjectName'],
    ['a Version that disagrees with Id', { ...goodData, Version: 'ffff' }, 'data.Version'],
    ['a key object type', { ...goodData, ObjectType: 'Key' }, 'data.ObjectType'],
    ['an EXP that is not a number', { ...goodData, EXP: 'tomorrow' }, 'data.exp'],
    ['a negative NBF', { ...goodData, NBF: -5 }, 'data.nbf'],
    ['no version anywhere', { ...goodData, Id: 'https://sample-kv.vault.azure.net/secrets/db', Version: undefined }, 'data.Version'],
    ['a secret name Key Vault would refuse', { ...goodData, Id: 'https://sample-kv.vault.azure.net/secrets/db_x/0123', ObjectName: 'db_x', Version: '0123' }, 'data.Id'],
  ])('rejects %s', (_case, data, problem) => {
    const result = parse(envelope(data));

    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.problems.join(' ')).toContain(problem);
  });

  it('reads data that CloudEvents carries as a JSON string', () => {
    const result = parse({ id: 'c1', source: 's', type: 'Microsoft.KeyVault.SecretExpired', specversion: '1.0', data: JSON.stringify(goodData) });

    expect(result.ok && result.value.version).toBe('0123456789abcdef0123456789abcdef');
  });

  it.each([
    ['empty array', [], false],
    ['number', 7, false],
    ['5001 events', Array.from({ length: 5001 }, () => ({})), false],
    ['single object', { id: 'x' }, true],
  ])('splits a delivery that is a %s', (_case, body, ok) => {
    expect(splitDelivery(body).ok).toBe(ok);
  });

  it.each([
    ['Event Grid schema array', fixture('events/keyvault/subscription-validation.eventgrid.json'), '512d38b6-c7b8-40c8-89fe-f46f9e9622b6'],
    ['object with double-encoded data', { data: JSON.stringify({ validationCode: 'abc' }) }, 'abc'],
    ['object without a code', { data: {} }, undefined],
    ['garbage', 'x', undefined],
  ])('reads the validation code from %s', (_case, body, code) => {
    expect(readValidationCode(body)).toBe(code);
  });
});
