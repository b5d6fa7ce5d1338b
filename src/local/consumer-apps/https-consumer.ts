import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretClient } from '@azure/keyvault-secrets';
import { VERSION_PROMOTED_EVENT } from '../../consumers/adapters/https.js';
import { computeSignature, RECOMMENDED_TOLERANCE_SECONDS, SIGNATURE_HEADER } from '../../rotators/webhook/signature.js';
import { SecretValue } from '../../secrecy/secret-value.js';

/**
 * A demo application that consumes Key Vault secrets and speaks Rotor's
 * consumer protocol, one endpoint per consumer at `/consumers/<id>`:
 *
 * - `POST` a signed `Rotor.Secret.VersionPromoted` CloudEvent: the consumer
 *   checks the signature (and its age) and, in `adopt` mode, re-reads the
 *   secret from Key Vault;
 * - `GET` answers `{"secret", "version"}`: the version it holds.
 *
 * Other modes misbehave on purpose, for the tests and the demo: `ignore`
 * accepts the nudge and keeps its old version, `garbage` answers GET with
 * something that is not the protocol, `silent` never answers GET, `refuse`
 * answers the nudge 401. It holds values in `SecretValue`s and never shows one.
 */
export type HttpsConsumerMode = 'adopt' | 'ignore' | 'garbage' | 'silent' | 'refuse';

export interface DemoHttpsConsumerOptions {
  readonly client: SecretClient;
  /** The same key as Rotor's ROTOR_CONSUMER_SIGNING_KEY. */
  readonly signingKey: SecretValue;
  readonly port?: number;
}

export interface ConsumerState {
  readonly secret: string;
  mode: HttpsConsumerMode;
  version?: string;
  value?: SecretValue;
  /** Nudges received and accepted (signature good). */
  nudges: number;
  /** Nudges refused (bad or missing signature). */
  refused: number;
}

export interface DemoHttpsConsumer {
  readonly url: string;
  /** Adds a consumer of `secret` and reads the secret once, as an app does at start-up. */
  addConsumer(id: string, secret: string, mode?: HttpsConsumerMode): Promise<string>;
  consumerUrl(id: string): string;
  consumer(id: string): Readonly<ConsumerState>;
  setMode(id: string, mode: HttpsConsumerMode): void;
  stop(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** `t=<unix>,v1=<hex>`: good when one v1 matches and t is within the tolerance. */
export function verifySignature(header: string | undefined, body: string, key: SecretValue, nowMs: number): boolean {
  if (header === undefined) return false;
  const parts = header.split(',').map((p) => p.trim());
  const t = Number(parts.find((p) => p.startsWith('t='))?.slice(2));
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > RECOMMENDED_TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(computeSignature(key, t, body), 'utf8');
  return parts
    .filter((p) => p.startsWith('v1='))
    .some((p) => {
      const given = Buffer.from(p.slice(3), 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

export async function startDemoHttpsConsumer(options: DemoHttpsConsumerOptions): Promise<DemoHttpsConsumer> {
  const consumers = new Map<string, ConsumerState>();
  const hanging = new Set<ServerResponse>();

  const read = async (state: ConsumerState): Promise<void> => {
    const secret = await options.client.getSecret(state.secret);
    state.version = secret.properties.version;
    state.value = SecretValue.from(secret.value ?? '');
  };

  const reply = (res: ServerResponse, status: number, body?: unknown): void => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const match = /^\/consumers\/([A-Za-z0-9-]{1,64})$/.exec(new URL(req.url ?? '/', 'http://consumer').pathname);
    const state = match?.[1] === undefined ? undefined : consumers.get(match[1]);
    if (state === undefined) return reply(res, 404);
    if (req.method === 'GET') {
      switch (state.mode) {
        case 'garbage':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>I am not the protocol</html>');
          return;
        case 'silent':
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        case 'adopt':
        case 'ignore':
        case 'refuse':
          return reply(res, 200, { secret: state.secret, version: state.version ?? '' });
      }
    }
    if (req.method !== 'POST') return reply(res, 405);
    const body = await readBody(req);
    const signature = req.headers[SIGNATURE_HEADER];
    if (state.mode === 'refuse' || !verifySignature(typeof signature === 'string' ? signature : undefined, body, options.signingKey, Date.now())) {
      state.refused += 1;
      return reply(res, 401, { error: 'signature not accepted' });
    }
    let event: { type?: unknown; data?: { secret?: unknown } };
    try {
      event = JSON.parse(body) as typeof event;
    } catch {
      return reply(res, 400, { error: 'not JSON' });
    }
    if (event.type !== VERSION_PROMOTED_EVENT || typeof event.data?.secret !== 'string' || event.data.secret.toLowerCase() !== state.secret.toLowerCase()) {
      return reply(res, 400, { error: 'not a VersionPromoted event for this consumer' });
    }
    state.nudges += 1;
    if (state.mode === 'adopt') await read(state);
    return reply(res, 202);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 503, { error: 'could not read the secret' });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const must = (id: string): ConsumerState => {
    const state = consumers.get(id);
    if (state === undefined) throw new Error(`No demo consumer ${id}`);
    return state;
  };

  return {
    url,
    async addConsumer(id, secret, mode = 'adopt') {
      const state: ConsumerState = { secret, mode, nudges: 0, refused: 0 };
      consumers.set(id, state);
      await read(state);
      return `${url}/consumers/${id}`;
    },
    consumerUrl: (id) => `${url}/consumers/${id}`,
    consumer: must,
    setMode(id, mode) {
      must(id).mode = mode;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
