/** Cluster mode: HTTPS served by the workers with TLS_CERT_FILE/TLS_KEY_FILE. */
import { readFileSync } from 'node:fs';
import { crashIdFrom, rawCrashKey, readStored } from '../support/crashes';
import { smallCrash } from '../support/cluster';
import { get, post } from '../support/http';
import { startServer } from '../support/server';
import { selfSignedCertificate } from '../support/tls';

describe('HTTPS in-process', () => {
  it('serves HTTPS with TLS_CERT_FILE/TLS_KEY_FILE (self-signed certificate made here)', async () => {
    const tls = selfSignedCertificate();
    if (!tls) throw new Error('openssl is needed to make a self-signed certificate');
    const { cert, key } = tls;
    const server = await startServer({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
    try {
      expect(server.url.startsWith('https://')).toBe(true);
      const ca = readFileSync(cert);
      const { body, contentType } = smallCrash(7);
      const res = await post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body, ca });
      const id = crashIdFrom(res.text);
      expect(readStored(server.fsRoot, rawCrashKey(id)).length).toBeGreaterThan(0);
      expect((await get(`${server.url}/__lbheartbeat__`, { ca })).status).toBe(200);
      await expect(get(`${server.url.replace('https', 'http')}/__lbheartbeat__`, { timeoutMs: 3000 })).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});
