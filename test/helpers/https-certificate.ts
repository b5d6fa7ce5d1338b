import { loopbackCertificate } from '../../emulators/loopback-certificate.js';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, for HTTPS servers in
 * tests; pass `cert` as the client's trusted CA.
 */
export function createTestCertificate(): Promise<{ readonly cert: string; readonly key: string }> {
  return loopbackCertificate('localhost');
}
