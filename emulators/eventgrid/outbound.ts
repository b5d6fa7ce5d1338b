import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface OutboundRequest {
  readonly url: string;
  readonly method: 'POST' | 'OPTIONS' | 'GET';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Extra CA for https endpoints with a self-signed certificate. */
  readonly ca?: string | Buffer;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How a request failed before an HTTP status came back. */
export const outboundFailures = { TimedOut: 'TimedOut', SocketError: 'SocketError', Aborted: 'Aborted' } as const;
export type OutboundFailure = (typeof outboundFailures)[keyof typeof outboundFailures];

export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(
    readonly failure: OutboundFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Cap on how much of an endpoint's answer is kept: only handshakes read it. */
const maxResponseBytes = 64 * 1024;

/**
 * One HTTP request with no connection reuse (`agent: false`): the emulator
 * must never keep a receiver's server from closing, and each delivery is an
 * independent attempt as in the service.
 */
export function sendOutbound(req: OutboundRequest): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    if (req.signal.aborted) {
      reject(new OutboundError(outboundFailures.Aborted, 'emulator stopped'));
      return;
    }
    const url = new URL(req.url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...req.headers, connection: 'close' };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    let settled = false;
    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onAbort);
      action();
    };
    const outgoing = send(url, { method: req.method, headers, agent: false, ...(req.ca === undefined ? {} : { ca: req.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxResponseBytes) chunks.push(chunk);
      });
      res.on('end', () =>
        finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })),
      );
      res.on('error', (error) => finish(() => reject(new OutboundError(outboundFailures.SocketError, error.message, { cause: error }))));
    });
    const timer = setTimeout(() => {
      finish(() => reject(new OutboundError(outboundFailures.TimedOut, `no answer within ${req.timeoutMs} ms`)));
      outgoing.destroy();
    }, req.timeoutMs);
    const onAbort = () => {
      finish(() => reject(new OutboundError(outboundFailures.Aborted, 'emulator stopped')));
      outgoing.destroy();
    };
    req.signal.addEventListener('abort', onAbort);
    outgoing.on('error', (error) => finish(() => reject(new OutboundError(outboundFailures.SocketError, error.message, { cause: error }))));
    outgoing.end(req.body);
  });
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function isOutboundError(error: unknown): error is OutboundError {
  return error instanceof OutboundError;
}
