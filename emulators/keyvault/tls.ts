import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';
import { z } from 'zod';

/**
 * The emulator's TLS material: a local CA and a server certificate it signs
 * for the emulator's host names. Generated once and cached in `certDir`, so
 * later starts cost a file read; clients trust the CA file (`caCertPath`).
 */
export interface EmulatorTls {
  readonly caCertPath: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

export const defaultCertDir = (): string => join(tmpdir(), 'rotor-keyvault-emulator-tls');

const bundleSchema = z.object({ caCert: z.string(), caKey: z.string(), serverCert: z.string(), serverKey: z.string() });
type TlsBundle = z.infer<typeof bundleSchema>;

const DAY_MS = 24 * 60 * 60 * 1000;

export async function loadOrCreateTls(certDir: string, hosts: readonly string[]): Promise<EmulatorTls> {
  mkdirSync(certDir, { recursive: true });
  const bundlePath = join(certDir, 'tls-bundle.json');
  let bundle = readUsableBundle(bundlePath, hosts);
  if (bundle === undefined) {
    bundle = await createBundle(hosts);
    writeAtomically(bundlePath, JSON.stringify(bundle), 0o600);
  }
  // Named by content, so concurrent first starts that each generated a bundle never mix files.
  const fingerprint = createHash('sha256').update(bundle.caCert).digest('hex').slice(0, 16);
  const caCertPath = join(certDir, `ca-${fingerprint}.pem`);
  if (!existsSync(caCertPath)) writeAtomically(caCertPath, bundle.caCert, 0o644);
  return { caCertPath, caCert: bundle.caCert, serverCert: bundle.serverCert, serverKey: bundle.serverKey };
}

function readUsableBundle(path: string, hosts: readonly string[]): TlsBundle | undefined {
  try {
    const bundle = bundleSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    const server = new X509Certificate(bundle.serverCert);
    const ca = new X509Certificate(bundle.caCert);
    const validUntil = Math.min(Date.parse(server.validTo), Date.parse(ca.validTo));
    if (validUntil - Date.now() < DAY_MS) return undefined;
    if (!hosts.every((host) => (isIP(host) ? server.checkIP(host) : server.checkHost(host)) !== undefined)) return undefined;
    return bundle;
  } catch {
    return undefined;
  }
}

async function createBundle(hosts: readonly string[]): Promise<TlsBundle> {
  const notBeforeDate = new Date(Date.now() - DAY_MS);
  const notAfterDate = new Date(Date.now() + 365 * DAY_MS);
  const ca = await generate([{ name: 'commonName', value: 'Rotor Key Vault emulator local CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  });
  return { caCert: ca.cert, caKey: ca.private, serverCert: server.cert, serverKey: server.private };
}

function writeAtomically(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}
