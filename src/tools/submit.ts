import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { gzipSync } from 'node:zlib';
import { crashParts, multipartBody, newBoundary } from './multipart-body';

const USAGE = `Usage: npm run submit -- [options]

Posts a crash report the way a Breakpad/Crashpad client does and prints the answer.

  --url URL              submit URL (default http://127.0.0.1:8000/submit)
  --annotation K=V       an annotation (repeatable); default ProductName=Test Version=1.0
  --dump NAME=PATH       a dump file (repeatable), e.g. upload_file_minidump=crash.dmp
  --json                 send annotations as one JSON "extra" part
  --gzip                 gzip the body (Content-Encoding: gzip)
  --token TOKEN          Authorization: Bearer TOKEN (stage submitter)
  --cacert FILE          trust this PEM certificate (or CA) for an https URL, e.g. a self-signed one
  --insecure             do not verify the server's certificate (https; testing only)
  --help                 this text`;

interface Options {
  url: string;
  annotations: Record<string, string>;
  dumps: Record<string, Buffer>;
  json: boolean;
  gzip: boolean;
  token?: string;
  ca?: Buffer;
  insecure: boolean;
}

function fail(message: string): never {
  process.stderr.write(`submit: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function splitPair(flag: string, value: string | undefined): [string, string] {
  const eq = value?.indexOf('=') ?? -1;
  if (!value || eq <= 0) fail(`${flag} expects NAME=VALUE, got ${JSON.stringify(value ?? '')}`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

export function parseArgs(argv: string[]): Options {
  const opts: Options = { url: 'http://127.0.0.1:8000/submit', annotations: {}, dumps: {}, json: false, gzip: false, insecure: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--url':
        opts.url = argv[++i] ?? fail('--url expects a URL');
        break;
      case '--annotation': {
        const [k, v] = splitPair(arg, argv[++i]);
        opts.annotations[k] = v;
        break;
      }
      case '--dump': {
        const [name, file] = splitPair(arg, argv[++i]);
        try {
          opts.dumps[name] = readFileSync(file);
        } catch (err) {
          fail(`cannot read dump ${file}: ${(err as Error).message}`);
        }
        break;
      }
      case '--json':
        opts.json = true;
        break;
      case '--gzip':
        opts.gzip = true;
        break;
      case '--token':
        opts.token = argv[++i] ?? fail('--token expects a value');
        break;
      case '--cacert': {
        const file = argv[++i] ?? fail('--cacert expects a PEM file');
        try {
          opts.ca = readFileSync(file);
        } catch (err) {
          fail(`cannot read --cacert ${file}: ${(err as Error).message}`);
        }
        break;
      }
      case '--insecure':
        opts.insecure = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return process.exit(0);
      default:
        fail(`unknown option ${arg}`);
    }
  }
  if (Object.keys(opts.annotations).length === 0) opts.annotations = { ProductName: 'Test', Version: '1.0' };
  return opts;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const boundary = newBoundary();
  let body = multipartBody(crashParts(opts.annotations, opts.dumps, opts.json), boundary);
  const headers: Record<string, string | number> = {
    'Content-Type': `multipart/form-data; boundary=${boundary}`,
    'User-Agent': 'antenna-submit/1.0',
  };
  if (opts.gzip) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = body.length;
  if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;

  const url = new URL(opts.url);
  const client = url.protocol === 'https:' ? https : http;
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const tls = url.protocol === 'https:' ? { ca: opts.ca, rejectUnauthorized: !opts.insecure } : {};
    const req = client.request(url, { method: 'POST', headers, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  }).catch((err: NodeJS.ErrnoException) => {
    const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code ?? '');
    fail(
      certificate
        ? `cannot verify the certificate of ${opts.url} (${err.code}): pass --cacert FILE with the server's certificate or CA, or --insecure for a test server`
        : `cannot reach ${opts.url}: ${err.message} (is the collector running?)`,
    );
  });
  process.stdout.write(`HTTP ${answer.status}\n${answer.text}${answer.text.endsWith('\n') ? '' : '\n'}`);
  process.exitCode = answer.status === 200 && answer.text.startsWith('CrashID=') ? 0 : 1;
}

if (require.main === module) void main();
