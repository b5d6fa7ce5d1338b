import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KeyVaultEmulator } from '../../../emulators/keyvault/index.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // Wire bodies are asserted field by field; a full type per answer would only restate the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** What a failed `SecretClient` call rejects with (a `RestError`, or a network/abort error). */
export interface SdkFailure {
  name: string;
  code?: string;
  statusCode?: number;
  details?: { error: { code: string; message: string; innerError?: { code: string } } };
}

/**
 * One HTTP exchange with the emulator, for what `SecretClient` cannot show:
 * the 401 challenge itself, exact headers, counts of calls.
 */
export function rawRequest(
  emulator: Pick<KeyVaultEmulator, 'url' | 'caCertPath'>,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const url = new URL(options.path, emulator.url);
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method,
        headers: { 'content-type': 'application/json', ...options.headers },
        ...(https ? { ca: readFileSync(emulator.caCertPath!, 'utf8') } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const bearer = (role = 'officer'): Record<string, string> => ({ authorization: `Bearer rotor-emulator.${role}` });

/** The error a `SecretClient` call rejected with, for assertions on status and codes. */
export async function rejectionOf(promise: Promise<unknown>): Promise<SdkFailure> {
  try {
    await promise;
  } catch (error) {
    return error as SdkFailure;
  }
  throw new Error('expected the call to fail, it succeeded');
}
