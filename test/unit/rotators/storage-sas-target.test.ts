import { describe, expect, it } from 'vitest';
import { accountKeyFrom, parseBlobTarget, policyIdFor, policyPrefix, signedIdentifierOf } from '../../../src/rotators/storage-sas/target.js';
import { SecretValue } from '../../../src/secrecy/secret-value.js';

describe('SAS targets and values', () => {
  it.each([
    { url: 'https://stcontoso.blob.core.windows.net/uploads', account: 'stcontoso', accountUrl: 'https://stcontoso.blob.core.windows.net', container: 'uploads', blob: undefined },
    { url: 'https://stcontoso.blob.core.windows.net/uploads/2024/q3.csv', account: 'stcontoso', accountUrl: 'https://stcontoso.blob.core.windows.net', container: 'uploads', blob: '2024/q3.csv' },
    { url: 'http://127.0.0.1:10000/devstoreaccount1/reports/', account: 'devstoreaccount1', accountUrl: 'http://127.0.0.1:10000/devstoreaccount1', container: 'reports', blob: undefined },
  ])('parses $url', ({ url, account, accountUrl, container, blob }) => {
    const target = parseBlobTarget(url);

    expect(target).toMatchObject({ accountName: account, accountUrl, containerName: container });
    expect(target?.blobName).toBe(blob);
  });

  it.each(['https://stcontoso.blob.core.windows.net/uploads?sv=1&sig=x', 'ftp://stcontoso/uploads', 'https://stcontoso.blob.core.windows.net/', 'https://stcontoso.blob.core.windows.net/UP', 'not a url'])(
    'refuses %s',
    (url) => {
      expect(parseBlobTarget(url)).toBeUndefined();
    },
  );

  it('reads the stored policy id from a SAS URL or token', () => {
    expect(signedIdentifierOf(SecretValue.from('https://a.blob.core.windows.net/c?sv=1&si=rotor.x.y&sig=z'))).toBe('rotor.x.y');
    expect(signedIdentifierOf(SecretValue.from('sv=1&si=p1&sig=z'))).toBe('p1');
    expect(signedIdentifierOf(SecretValue.from('sv=1&se=2030&sig=z'))).toBeUndefined();
  });

  it('derives short, per-secret, per-rotation policy ids', () => {
    const secret = { vaultUrl: 'https://kv.vault.azure.net', name: 'Uploads-Sas' };

    const id = policyIdFor(secret, 'rot-1');

    expect(id.startsWith(policyPrefix({ ...secret, name: 'uploads-sas' }))).toBe(true);
    expect(id).not.toBe(policyIdFor(secret, 'rot-2'));
    expect(id.length).toBeLessThanOrEqual(64);
  });

  it.each([
    { value: 'DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=a2V5PT0=;EndpointSuffix=core.windows.net', account: 'st1', key: 'a2V5PT0=' },
    { value: 'a2V5PT0=', account: undefined, key: 'a2V5PT0=' },
  ])('finds the account key in $value', ({ value, account, key }) => {
    const found = accountKeyFrom(SecretValue.from(value));

    expect(found?.accountName).toBe(account);
    expect(found?.key.reveal()).toBe(key);
  });

  it('finds no key in a connection string without one', () => {
    expect(accountKeyFrom(SecretValue.from('AccountName=st1;AccountKey=;'))).toBeUndefined();
  });
});
