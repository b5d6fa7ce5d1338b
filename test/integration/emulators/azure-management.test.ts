import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzureManagementEmulator, type AzureManagementEmulator } from '../../../emulators/azure-management/index.js';

interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire bodies are checked field by field
  json: any;
}

/** Raw HTTPS, to check the wire shapes themselves rather than what a client makes of them. */
function send(emulator: AzureManagementEmulator, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<WireResponse>((resolve, reject) => {
    const req = request(`${emulator.url}${path}`, { method, headers: options.headers, agent: new Agent({ ca: emulator.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const bearer = { authorization: 'Bearer test-token', 'content-type': 'application/json' };

describe('Azure management stand-in: wire shapes', () => {
  let emulator: AzureManagementEmulator;
  let accountPath: string;

  beforeAll(async () => {
    emulator = await startAzureManagementEmulator({ storageAccounts: [{ name: 'stwire' }], applications: [{ appId: '11111111-2222-3333-4444-555555555555', passwords: [{ secretText: 'abc8Q~known-secret-text-for-wire-tests0' }] }] });
    accountPath = emulator.storageAccountId('stwire');
  });
  afterAll(async () => {
    await emulator.stop();
  });

  it('refuses ARM calls without a bearer token, with a WWW-Authenticate challenge', async () => {
    const response = await send(emulator, 'POST', `${accountPath}/listKeys?api-version=2025-01-01`);

    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('AuthenticationFailed');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer authorization_uri=/);
  });

  it.each([
    { query: '', code: 'MissingApiVersionParameter' },
    { query: '?api-version=2015-06-15', code: 'NoRegisteredProviderFound' },
  ])('answers 400 $code for api-version "$query"', async ({ query, code }) => {
    const response = await send(emulator, 'POST', `${accountPath}/listKeys${query}`, { headers: bearer });

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(code);
  });

  it('lists storage keys in the documented shape and regenerates only the named one', async () => {
    const before = await send(emulator, 'POST', `${accountPath}/listKeys?api-version=2025-01-01`, { headers: bearer });
    const after = await send(emulator, 'POST', `${accountPath}/regenerateKey?api-version=2025-01-01`, { headers: bearer, body: JSON.stringify({ keyName: 'key2' }) });
    const bad = await send(emulator, 'POST', `${accountPath}/regenerateKey?api-version=2025-01-01`, { headers: bearer, body: JSON.stringify({ keyName: 'key3' }) });

    expect(before.json.keys.map((k: { keyName: string; permissions: string }) => [k.keyName, k.permissions])).toEqual([['key1', 'FULL'], ['key2', 'FULL']]);
    expect(after.json.keys[0].value).toBe(before.json.keys[0].value);
    expect(after.json.keys[1].value).not.toBe(before.json.keys[1].value);
    expect(bad.status).toBe(400);
  });

  it('answers 404 ResourceNotFound for an unknown account, and 429 with Retry-After when throttling', async () => {
    const missing = await send(emulator, 'POST', `${accountPath.replace('stwire', 'stnone')}/listKeys?api-version=2025-01-01`, { headers: bearer });
    emulator.admin.inject({ kind: 'throttle', retryAfterSeconds: 17 });
    const throttled = await send(emulator, 'POST', `${accountPath}/listKeys?api-version=2025-01-01`, { headers: bearer });

    expect([missing.status, missing.json.error.code]).toEqual([404, 'ResourceNotFound']);
    expect([throttled.status, throttled.headers['retry-after']]).toEqual([429, '17']);
  });

  it('serves Graph applications by appId with $select, and never lists secret text', async () => {
    const response = await send(emulator, 'GET', "/v1.0/applications(appId='11111111-2222-3333-4444-555555555555')?$select=appId,passwordCredentials", { headers: bearer });

    expect(response.status).toBe(200);
    expect(Object.keys(response.json).filter((k) => !k.startsWith('@')).sort()).toEqual(['appId', 'passwordCredentials']);
    expect(response.json.passwordCredentials[0]).toMatchObject({ hint: 'abc', secretText: null });
  });

  it.each([
    { case: 'a wrong secret', form: 'grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555&client_secret=nope&scope=x', status: 401, error: 'invalid_client' },
    { case: 'an unknown client', form: 'grant_type=client_credentials&client_id=99999999-2222-3333-4444-555555555555&client_secret=nope&scope=x', status: 400, error: 'unauthorized_client' },
    { case: 'the right secret', form: 'grant_type=client_credentials&client_id=11111111-2222-3333-4444-555555555555&client_secret=abc8Q~known-secret-text-for-wire-tests0&scope=x', status: 200, error: undefined },
  ])('token endpoint answers $case with $status', async ({ form, status, error }) => {
    const response = await send(emulator, 'POST', `/${emulator.tenantId}/oauth2/v2.0/token`, { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

    expect(response.status).toBe(status);
    expect(response.json.error).toBe(error);
  });
});
