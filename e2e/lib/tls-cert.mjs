// A throw-away self-signed certificate for localhost/127.0.0.1, made with the openssl command line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Write cert.pem and key.pem (P-256, valid one day, SAN localhost, 127.0.0.1 and `ips`) into a new
 * temporary folder. Resolves with {dir, cert, key, remove()}; rejects with openssl's output when it fails.
 * @param {string[]} [ips] more IP addresses the certificate names
 */
export async function makeSelfSignedCert(ips = []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', `subjectAltName=DNS:localhost,IP:127.0.0.1${ips.map((ip) => `,IP:${ip}`).join('')}`,
      '-keyout', key, '-out', cert,
    ], { timeout: 15_000 });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate: ${e.message}\n${e.stderr ?? ''}`);
  }
  return { dir, cert, key, remove: () => rm(dir, { recursive: true, force: true }) };
}
