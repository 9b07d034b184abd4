/** Posts one synthetic crash the way a Breakpad client does (like `npm run submit`), bounded in time. */
import http from 'node:http';
import https from 'node:https';
import { crashParts, multipartBody, newBoundary } from '../multipart-body';
import { CANARY_DUMP_FIELD, type CanaryCrash } from './crash';

export type SubmitResult = { ok: true; crashId: string } | { ok: false; detail: string };

const CRASH_ID_ANSWER = /^CrashID=bp-([0-9a-f-]{36})\s*$/;

export function createSubmitter(opts: { url: URL; timeoutMs: number; ca?: Buffer; insecure: boolean }) {
  const secure = opts.url.protocol === 'https:';
  // Keep-alive, as a real fleet of clients would not, but a canary sending every few hundred ms should not open a connection each time.
  const agent = secure ? new https.Agent({ keepAlive: true, ca: opts.ca, rejectUnauthorized: !opts.insecure }) : new http.Agent({ keepAlive: true });
  const client = secure ? https : http;

  function submit(crash: CanaryCrash): Promise<SubmitResult> {
    const boundary = newBoundary();
    const body = multipartBody(crashParts(crash.annotations, { [CANARY_DUMP_FIELD]: crash.dump }), boundary);
    const headers = {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': body.length,
      'User-Agent': 'antenna-canary/1.0',
    };
    return new Promise((resolve) => {
      const req = client.request(opts.url, { method: 'POST', headers, agent, timeout: opts.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => resolve({ ok: false, detail: `answer cut off: ${err.message}` }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const m = CRASH_ID_ANSWER.exec(text);
          if (res.statusCode === 200 && m) resolve({ ok: true, crashId: m[1]! });
          else resolve({ ok: false, detail: `HTTP ${res.statusCode} ${text.trim().slice(0, 80)}` });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000} s (--submit-timeout)`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code ?? '');
        resolve({
          ok: false,
          detail: certificate ? `cannot verify the server certificate (${err.code}): pass --cacert FILE, or --insecure for a test server` : err.message,
        });
      });
      req.end(body);
    });
  }

  return { submit, close: () => agent.destroy() };
}
