'use strict';
// A reference server for `npm run bench`: a node:http cluster that reads each
// POST /submit body completely and answers `CrashID=bp-<uuid>` without
// parsing it. With `durableDir`, each body is first written to one file in
// that directory (temporary name, fsync, rename), as cheaply as durability
// allows. With `checksum`, each body is run through sha256 as it arrives, as
// the collector must for `dump_checksums`: the least any collector pays per
// crash. With `layoutDir`, each body is saved as fs storage saves a crash
// (SPEC §2): the body as v1/dump/<id>, a small v1/dump_names/<id> and
// v1/raw_crash/<date>/<id>, every file and directory fsynced, the raw crash
// written beside the others under a temporary name and renamed last: the
// cost of the layout and its two commits alone, without parsing. Nothing
// here parses multipart or gunzips: it is the ceiling the collector is
// measured against.
//
// Environment: PORT (0 = a free port), HOST (default 127.0.0.1), WORKERS.
// Prints one line `listening on http://<host>:<port>` once every worker
// listens. SIGTERM/SIGINT stop the workers and the primary.
const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { createHash, randomUUID, randomBytes } = require('node:crypto');
const { mkdir, open, rename } = require('node:fs/promises');

const pad2 = (n) => String(n).padStart(2, '0');

/** The collector's crash id shape: a UUID4 ending in the throttle digit 0 and YYMMDD. */
function crashId() {
  const d = new Date();
  const yymmdd = pad2(d.getUTCFullYear() % 100) + pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate());
  return `${randomUUID().slice(0, -7)}0${yymmdd}`;
}

async function writeAll(fh, chunks) {
  let pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await fh.writev(pending);
    if (bytesWritten === 0) throw new Error('write made no progress');
    const rest = [];
    for (const b of pending) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        rest.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/** `chunks` in a new file, fsynced; `named` (optional) runs once the file has its name, beside the write. */
async function writeSynced(file, chunks, named) {
  const fh = await open(file, 'wx', 0o644);
  try {
    await Promise.all([writeAll(fh, chunks).then(() => fh.sync()), named?.()]);
  } finally {
    await fh.close();
  }
}

async function writeDurably(dir, id, chunks) {
  const tmp = path.join(dir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
  await writeSynced(tmp, chunks);
  await rename(tmp, path.join(dir, id));
}

async function syncDir(dir) {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const madeDirs = new Set();
async function madeDir(dir) {
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  return dir;
}

/** fs storage's layout and order: dump and dump_names durable under their names, then the raw crash renamed into place. */
async function writeLayout(root, id, chunks) {
  const [dumpDir, namesDir, rawDir] = await Promise.all(
    [['dump'], ['dump_names'], ['raw_crash', `20${id.slice(-6)}`]].map((p) => madeDir(path.join(root, 'v1', ...p))),
  );
  const rawTmp = path.join(rawDir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
  const rawCrash = Buffer.from(JSON.stringify({ uuid: id, submitted_timestamp: new Date().toISOString(), dump_checksums: {} }));
  await Promise.all([
    writeSynced(path.join(dumpDir, id), chunks, () => syncDir(dumpDir)),
    writeSynced(path.join(namesDir, id), [Buffer.from('["upload_file_minidump"]')], () => syncDir(namesDir)),
    writeSynced(rawTmp, [rawCrash]),
  ]);
  await rename(rawTmp, path.join(rawDir, id));
  await syncDir(rawDir);
}

function handler(durableDir, checksum, layoutDir) {
  return (req, res) => {
    const url = (req.url || '').split('?')[0];
    if (req.method === 'GET' && url === '/__lbheartbeat__') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '2' });
      res.end('{}');
      return;
    }
    if (req.method !== 'POST' || url !== '/submit') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const chunks = [];
    const hash = checksum ? createHash('sha256') : undefined;
    req.on('data', (c) => {
      chunks.push(c);
      hash?.update(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      hash?.digest('hex');
      const id = crashId();
      const answer = () => {
        const body = `CrashID=bp-${id}\n`;
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(body);
      };
      const save = durableDir ? writeDurably(durableDir, id, chunks) : layoutDir ? writeLayout(layoutDir, id, chunks) : undefined;
      if (!save) return answer();
      save.then(answer, (err) => {
        process.stderr.write(`save failed: ${err.message}\n`);
        res.writeHead(503, { 'Content-Type': 'text/plain' });
        res.end('Discarded=storage_error\n');
      });
    });
  };
}

function start({ durableDir, checksum, layoutDir } = {}) {
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 0);
  const workers = Number(process.env.WORKERS || 2 * (os.availableParallelism ? os.availableParallelism() : os.cpus().length) + 1);

  if (cluster.isPrimary) {
    let listening = 0;
    let stopping = false;
    cluster.on('listening', (_worker, address) => {
      if (++listening === workers) process.stdout.write(`listening on http://${host}:${address.port}\n`);
    });
    cluster.on('exit', (worker, code, signal) => {
      if (!stopping) {
        process.stderr.write(`worker ${worker.process.pid} died (${code ?? signal}); stopping\n`);
        stop(1);
      } else if (Object.keys(cluster.workers).length === 0) {
        process.exit(0);
      }
    });
    const stop = (code = 0) => {
      if (stopping) return;
      stopping = true;
      const alive = Object.values(cluster.workers);
      if (alive.length === 0) process.exit(code);
      for (const w of alive) w.process.kill('SIGTERM');
      setTimeout(() => process.exit(code), 5000).unref();
    };
    process.on('SIGTERM', () => stop(0));
    process.on('SIGINT', () => stop(0));
    for (let i = 0; i < workers; i++) cluster.fork();
  } else {
    const server = http.createServer({ keepAliveTimeout: 65000, requestTimeout: 0 }, handler(durableDir, checksum, layoutDir));
    server.listen(port, host);
    process.on('SIGTERM', () => process.exit(0));
    process.on('SIGINT', () => {});
  }
}

/**
 * `start({ [option]: dir })` with dir from the environment variable `envVar`;
 * exits 2 with a message naming the variable when it is not set.
 */
function startInDirFromEnv(name, envVar, option) {
  const dir = process.env[envVar];
  if (!dir) {
    process.stderr.write(`${name}: set ${envVar} to an existing directory\n`);
    process.exit(2);
  }
  start({ [option]: dir });
}

module.exports = { start, startInDirFromEnv };
