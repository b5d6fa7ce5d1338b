import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createDemoProvider } from './demo-provider.js';
import { createRotorReceiver } from './receiver.js';

/**
 * Runs the example receiver:
 *
 *   ROTOR_WEBHOOK_SIGNING_KEY=... TLS_CERT_FILE=cert.pem TLS_KEY_FILE=key.pem PORT=8443 \
 *     npx tsx examples/webhook-receiver/main.ts
 *
 * Without TLS files it serves plain HTTP, which only Rotor's local stack accepts.
 */
const signingKey = process.env.ROTOR_WEBHOOK_SIGNING_KEY;
if (signingKey === undefined || signingKey.length < 32) {
  console.error('Set ROTOR_WEBHOOK_SIGNING_KEY to the signing key (at least 32 characters), the value of the secret named by rotor-webhook-signing-secret.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8443);
const provider = createDemoProvider();
const listener = createRotorReceiver({
  signingKey,
  handle: async (request) => {
    // Log what happened, never the body: it carries credentials.
    console.log(JSON.stringify({ step: request.step, rotationId: request.rotationId, secret: request.secret.name, deliveryId: request.deliveryId }));
    return provider.handle(request);
  },
  onRejected: (status, reason) => console.warn(JSON.stringify({ rejected: status, reason })),
});

const certFile = process.env.TLS_CERT_FILE;
const keyFile = process.env.TLS_KEY_FILE;
const server =
  certFile !== undefined && keyFile !== undefined
    ? createHttpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, listener)
    : createHttpServer(listener);
server.listen(port, () => console.log(`Rotor webhook receiver listening on ${certFile === undefined ? 'http' : 'https'}://localhost:${port}/`));
