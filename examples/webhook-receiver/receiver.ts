import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReplayGuard, verifyRotorSignature } from './verify.js';

/** What Rotor posts (protocol `rotor-webhook/1`); see docs/rotators/webhook.md. */
export interface RotorRequest {
  readonly protocol: 'rotor-webhook/1';
  readonly deliveryId: string;
  readonly rotationId: string;
  readonly step: 'prepare' | 'apply' | 'test' | 'restore' | 'revoke';
  readonly attempt: number;
  readonly secret: { readonly vaultUrl: string; readonly name: string };
  readonly strategy: 'single' | 'alternating';
  readonly target?: string;
  readonly current: { readonly version: string; readonly slot?: string };
  readonly credential?: { readonly value: string; readonly slot?: string; readonly version?: string; readonly refs?: Record<string, string> };
  readonly prepared?: { readonly value: string; readonly slot?: string; readonly refs?: Record<string, string> };
}

/** Returns the JSON answer (prepare, test) or nothing (204). Throw to answer 500. */
export type RotorHandler = (request: RotorRequest) => Promise<object | undefined>;

export interface ReceiverOptions {
  readonly signingKey: string;
  readonly handle: RotorHandler;
  readonly toleranceSeconds?: number;
  readonly nowSeconds?: () => number;
  /** Told why a request was refused (never given the body). */
  readonly onRejected?: (status: number, reason: string) => void;
}

const STEPS = new Set(['prepare', 'apply', 'test', 'restore', 'revoke']);
const MAX_BODY_BYTES = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isRotorRequest(value: unknown): value is RotorRequest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.protocol === 'rotor-webhook/1' && typeof v.deliveryId === 'string' && typeof v.rotationId === 'string' && typeof v.step === 'string' && STEPS.has(v.step);
}

/**
 * A request listener for `node:http`/`node:https` that authenticates Rotor's
 * calls before anything else happens, then hands them to `handle`. Never log
 * the body: `prepare` answers and most requests carry credentials.
 */
export function createRotorReceiver(options: ReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const tolerance = options.toleranceSeconds ?? 300;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const guard = createReplayGuard(tolerance, nowSeconds);

  const refuse = (res: ServerResponse, status: number, reason: string): void => {
    options.onRejected?.(status, reason);
    res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ title: reason, status }));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return refuse(res, 405, 'only POST is accepted');
    const body = await readBody(req);
    if (body === undefined) return refuse(res, 413, 'body too large');
    const header = req.headers['x-rotor-signature'];
    const verified = verifyRotorSignature({
      header: Array.isArray(header) ? header.join(',') : header,
      body,
      key: options.signingKey,
      nowSeconds: nowSeconds(),
      toleranceSeconds: tolerance,
    });
    if (!verified.ok) return refuse(res, 401, verified.reason);

    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return refuse(res, 400, 'body is not JSON');
    }
    if (!isRotorRequest(parsed)) return refuse(res, 400, 'body is not a rotor-webhook/1 request');
    if (!guard.firstSeen(parsed.deliveryId)) return refuse(res, 401, 'replayed delivery');

    let answer: object | undefined;
    try {
      answer = await options.handle(parsed);
    } catch {
      return refuse(res, 500, `${parsed.step} failed`);
    }
    if (answer === undefined) res.writeHead(204).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  };

  return (req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) refuse(res, 500, 'receiver error');
      else res.destroy();
    });
  };
}
