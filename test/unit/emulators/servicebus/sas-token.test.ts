import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { audiencePath, isValidSasToken } from '../../../../emulators/servicebus/sas-token.js';

const credentials = { keyName: 'RootManageSharedAccessKey', key: 'SAS_KEY_VALUE' };
const now = Date.parse('2030-01-01T00:00:00Z');
const audience = 'sb://127.0.0.1:5672/rotation-steps';

/** Signs as @azure/core-amqp's SAS token provider does. */
function sign(options: { key?: string; keyName?: string; expirySeconds?: number } = {}): string {
  const resource = encodeURIComponent(audience);
  const expiry = options.expirySeconds ?? Math.floor(now / 1000) + 3600;
  const signature = encodeURIComponent(createHmac('sha256', options.key ?? credentials.key).update(`${resource}\n${expiry}`).digest('base64'));
  return `SharedAccessSignature sr=${resource}&sig=${signature}&se=${expiry}&skn=${encodeURIComponent(options.keyName ?? credentials.keyName)}`;
}

describe('isValidSasToken', () => {
  it('accepts a token signed with the shared key', () => {
    expect(isValidSasToken(sign(), credentials, now)).toBe(true);
  });

  it.each([
    { case: 'another key', token: sign({ key: 'other' }) },
    { case: 'another key name', token: sign({ keyName: 'SendOnly' }) },
    { case: 'an expired token', token: sign({ expirySeconds: Math.floor(now / 1000) - 1 }) },
    { case: 'a token that is not a SAS token', token: 'Bearer abc' },
    { case: 'a token without signature', token: sign().replace(/&sig=[^&]+/, '') },
  ])('refuses $case', ({ token }) => {
    expect(isValidSasToken(token, credentials, now)).toBe(false);
  });
});

describe('audiencePath', () => {
  it.each([
    { audience, path: 'rotation-steps' },
    { audience: 'sb://127.0.0.1:5672/Q/$management', path: 'q/$management' },
    { audience: 'not a url', path: undefined },
  ])('reads $audience as $path', ({ audience: value, path }) => {
    expect(audiencePath(value)).toBe(path);
  });
});
