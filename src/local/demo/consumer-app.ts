import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import { SecretValue } from '../../secrecy/secret-value.js';

/**
 * The demo's consuming application: for each secret it serves
 * `GET /health/<secret>`, which really reads the secret's latest value from
 * Key Vault and checks it the way an app would use it. Rotor's health probes
 * point here. A secret in `'original'` mode stands for a consumer that cannot
 * take a new credential (a provider that was never updated): it accepts the
 * first value it reads and answers 503 once the value changes, so Rotor must
 * roll back.
 *
 * Responses name the version and whether the value was accepted; never the value.
 */

export type ConsumerMode = 'any' | 'original';

export interface DemoConsumerApp {
  readonly url: string;
  healthUrl(secret: string): string;
  /** Health checks answered, per secret and status: what the demo summary shows. */
  readonly answers: ReadonlyMap<string, readonly number[]>;
  stop(): Promise<void>;
}

export async function startDemoConsumerApp(options: {
  readonly client: SecretClient;
  readonly secrets: Readonly<Record<string, ConsumerMode>>;
  readonly port?: number;
}): Promise<DemoConsumerApp> {
  // The value an 'original' consumer accepts is the first one it reads (the app starting up).
  const original = new Map<string, SecretValue>();
  const answers = new Map<string, number[]>();

  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: Record<string, unknown>, name: string): void => {
      answers.set(name, [...(answers.get(name) ?? []), status]);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const match = /^\/health\/([0-9A-Za-z-]{1,127})$/.exec(req.url ?? '');
    const name = match?.[1];
    const mode = name === undefined ? undefined : options.secrets[name];
    if (name === undefined || mode === undefined) {
      res.writeHead(404).end();
      return;
    }
    options.client.getSecret(name).then(
      (secret) => {
        const value = SecretValue.from(secret.value ?? '');
        if (value.length === 0) {
          reply(503, { healthy: false, reason: 'the secret is empty', version: secret.properties.version }, name);
          return;
        }
        if (mode === 'original' && !original.has(name)) original.set(name, value);
        const pinned = original.get(name);
        if (mode === 'original' && pinned !== undefined && !pinned.equals(value)) {
          reply(503, { healthy: false, reason: 'this consumer rejects the new value', version: secret.properties.version }, name);
          return;
        }
        reply(200, { healthy: true, version: secret.properties.version }, name);
      },
      (error: unknown) => {
        reply(503, { healthy: false, reason: `cannot read the secret: ${error instanceof Error ? error.message.slice(0, 120) : 'error'}` }, name);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    healthUrl: (secret) => `${url}/health/${secret}`,
    answers,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
