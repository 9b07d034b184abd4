import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from './server';

/** A self-signed certificate for 127.0.0.1 (one day), made with openssl; undefined when openssl is missing. */
export function selfSignedCertificate(dir = tempDir()): { cert: string; key: string } | undefined {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  // prettier-ignore
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  try {
    execFileSync('openssl', args, { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { cert, key };
}
