import http from 'node:http';
import https from 'node:https';

/**
 * Docker's HEALTHCHECK: GET /__lbheartbeat__ on this container's own port,
 * over HTTPS when TLS_CERT_FILE is set (the certificate names the public
 * host, not 127.0.0.1, so it is not verified: this probes our own process).
 * Exit 0 on 200, 1 otherwise, within HEALTHCHECK_TIMEOUT_MS (2500).
 */
export function probe(env: NodeJS.ProcessEnv): Promise<{ ok: boolean; detail: string }> {
  const tls = Boolean(env.TLS_CERT_FILE);
  const port = Number(env.PORT || 8000);
  const timeoutMs = Number(env.HEALTHCHECK_TIMEOUT_MS || 2500);
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/__lbheartbeat__`;
  return new Promise((resolve) => {
    const req = (tls ? https : http).get(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ ok: res.statusCode === 200, detail: `${url} answered ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, detail: `${url}: ${err.message}` }));
  });
}

if (require.main === module) {
  void probe(process.env).then(({ ok, detail }) => {
    if (!ok) process.stderr.write(`healthcheck failed: ${detail}\n`);
    process.exit(ok ? 0 : 1);
  });
}
