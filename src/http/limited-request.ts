import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * One HTTP(S) request whose answer is read up to `maxBytes`: a larger one is
 * cut off and the promise fails with an error whose `code` is the caller's
 * `tooLargeCode`, so each caller keeps the code its own error mapping matches
 * (the webhook rotator's `ROTOR_RESPONSE_TOO_LARGE`, the consumers'
 * `ROTOR_ANSWER_TOO_LARGE`). The body is returned as text and never logged here.
 */
export interface LimitedRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
  /** Extra trusted CA certificates (PEM). */
  readonly ca?: string;
  readonly maxBytes: number;
  readonly tooLargeCode: string;
}

export interface LimitedAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

export function requestWithLimit(url: URL, options: LimitedRequest): Promise<LimitedAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { body } = options;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method,
        headers: { ...options.headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        signal: options.signal,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            res.destroy(Object.assign(new Error('answer too large'), { code: options.tooLargeCode }));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
