import selfsigned from 'selfsigned';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, for HTTPS servers in
 * tests; pass `cert` as the client's trusted CA.
 */
export async function createTestCertificate(): Promise<{ readonly cert: string; readonly key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
