import { generate } from 'selfsigned';

/**
 * A fresh self-signed certificate for 127.0.0.1 and localhost (EC P-256), for
 * a stand-in that must speak HTTPS because the Azure SDK will not send a token
 * or key over plain HTTP. Clients trust `cert` as their CA.
 */
export async function loopbackCertificate(commonName: string): Promise<{ readonly cert: string; readonly key: string }> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
