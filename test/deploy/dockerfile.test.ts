import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const runtime = dockerfile.split(/^FROM /m).pop()!;
const env = Object.fromEntries([...runtime.matchAll(/^\s+(?:ENV )?([A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [m[1]!, m[2]!]));

describe('Dockerfile (what the image assumes, checked without a Docker engine)', () => {
  test('storage and spool are on the /data volume, made and owned by the runtime user before USER', () => {
    expect(env.CRASHMOVER_CRASHSTORAGE_FS_ROOT).toMatch(/^\/data\//);
    expect(env.CRASHMOVER_SPOOL_DIR).toMatch(/^\/data\//);
    expect(runtime).toMatch(/^VOLUME \["\/data"\]$/m);
    const mk = /^RUN mkdir -p (.+) && chown -R node:node \/data$/m.exec(runtime);
    expect(mk?.[1]?.split(' ')).toEqual(expect.arrayContaining([env.CRASHMOVER_CRASHSTORAGE_FS_ROOT, env.CRASHMOVER_SPOOL_DIR]));
    expect(runtime.indexOf('chown -R node:node /data')).toBeLessThan(runtime.indexOf('USER node'));
  });

  test('the HEALTHCHECK runs a script the build produces (it speaks HTTPS when TLS is on)', () => {
    const m = /^\s+CMD \["node", "(dist\/[^"]+)"\]$/m.exec(runtime.slice(runtime.indexOf('HEALTHCHECK')));
    expect(m).not.toBeNull();
    const source = m![1]!.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    expect(existsSync(path.join(ROOT, source))).toBe(true);
  });

  test('every COPY source exists in a clean clone (or is optional)', () => {
    for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const f of src!.split(' ')) {
        if (f.includes('[')) continue; // version.jso[n]: optional by design
        expect([f, existsSync(path.join(ROOT, f))]).toEqual([f, true]);
      }
    }
  });
});

const engine = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 10000 }).status === 0;
if (!engine) console.warn('no Docker engine here (docker info failed): skipping the image build; the Dockerfile checks above still ran');
(engine ? test : test.skip)(
  'docker build succeeds',
  () => {
    const r = spawnSync('docker', ['build', '-q', '-t', 'antenna-ci-test', ROOT], { encoding: 'utf8', timeout: 600000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  },
  620000,
);
