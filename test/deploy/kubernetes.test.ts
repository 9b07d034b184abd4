import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import YAML from 'yaml';
import { SECTIONS, loadConfig } from '../../src/shared/config';
import type { Section } from '../../src/shared/config/option';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'deploy', 'kubernetes');

/** Variables read by libraries, not by the collector's config table. */
const LIBRARY_VARIABLES = new Set(['METADATA_SERVER_DETECTION']);

// Loose shapes of the parts the checks read; the schemas check the rest.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
interface Manifest {
  where: string;
  doc: Obj;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(path.join(dir, e.name)) : e.name.endsWith('.yaml') ? [path.join(dir, e.name)] : [],
  );
}

function parseManifests(file: string, text: string): Manifest[] {
  return YAML.parseAllDocuments(text).map((d, i) => {
    if (d.errors.length) throw new Error(`${file} document ${i + 1}: ${d.errors[0]!.message}`);
    const doc = d.toJS() as Obj;
    return { where: `${path.relative(ROOT, file)}: ${doc.kind} ${doc.metadata?.name}`, doc };
  });
}

const manifests = yamlFiles(DIR).flatMap((f) => parseManifests(f, readFileSync(f, 'utf8')));

/** kubernetes-models/<group>/<version>/<Kind>, e.g. kubernetes-models/apps/v1/StatefulSet. */
function modelModule(doc: Obj): string {
  return `kubernetes-models/${doc.apiVersion}/${doc.kind}`;
}

/** Errors of the OpenAPI schema of the object's kind (types, formats, required fields, enums). */
function schemaErrors(m: Manifest): string[] {
  let Model: new (data: Obj) => { validate(): void };
  try {
    // The model's module depends on the manifest's apiVersion, known only here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Model = (require(modelModule(m.doc)) as Record<string, typeof Model>)[m.doc.kind]!;
  } catch {
    return [`${m.where}: no schema for apiVersion ${m.doc.apiVersion}, kind ${m.doc.kind}`];
  }
  try {
    new Model(m.doc).validate();
    return [];
  } catch (err) {
    return [`${m.where}: ${(err as Error).message}`];
  }
}

/**
 * Fields the schema does not know (a typo such as `periodSecond`), which the
 * schemas above allow but `kubectl apply` rejects: each manifest becomes an
 * object literal typed with its kind's interface, and TypeScript's excess
 * property check names every unknown key.
 */
function unknownFieldErrors(list: Manifest[]): string[] {
  const files = new Map<string, { where: string; text: string }>();
  list.forEach((m, i) => {
    const file = path.join(DIR, `__manifest_${i}.ts`);
    const text = `import type { I${m.doc.kind} } from '${modelModule(m.doc)}';\nexport const manifest: I${m.doc.kind} = ${JSON.stringify(m.doc, null, 1)};\n`;
    files.set(file, { where: m.where, text });
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists(f);
  host.readFile = (f) => files.get(f)?.text ?? readFile(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const virtual = files.get(f);
    return virtual ? ts.createSourceFile(f, virtual.text, lang) : getSourceFile(f, lang, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return [...files.keys()].flatMap((f) => {
    const sf = program.getSourceFile(f)!;
    return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map(
      (d) => `${files.get(f)!.where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 300)}`,
    );
  });
}

const workloads = manifests.filter((m) => m.doc.kind === 'StatefulSet' || m.doc.kind === 'Deployment');
const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);

function container(w: Manifest): Obj {
  return w.doc.spec.template.spec.containers.find((c: Obj) => c.name === 'antenna');
}

function envOf(w: Manifest): Record<string, string> {
  const c = container(w);
  const env: Record<string, string> = {};
  for (const ref of c.envFrom ?? []) {
    const cm = byKind('ConfigMap').find((m) => m.doc.metadata.name === ref.configMapRef?.name);
    Object.assign(env, cm?.doc.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.resourceFieldRef?.resource === 'limits.cpu') env[e.name] = String(Math.ceil(cpuCores(c.resources.limits.cpu)));
  }
  return env;
}

function cpuCores(q: string | number): number {
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

/** Bytes of a Kubernetes quantity (20Gi) or of a collector size (16GiB). */
function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|KiB|MiB|GiB|TiB|k|M|G|T|KB|MB|GB|TB)?$/.exec(q);
  if (!m) throw new Error(`not a size: ${q}`);
  const unit = (m[2] ?? '').replace(/B$/, '');
  const power = { '': 0, Ki: 1, Mi: 2, Gi: 3, Ti: 4 }[unit];
  const decimal = { k: 1, K: 1, M: 2, G: 3, T: 4 }[unit];
  return Number(m[1]) * (power !== undefined ? 1024 ** power : 1000 ** decimal!);
}

function preStopSeconds(c: Obj): number {
  const hook = c.lifecycle?.preStop;
  if (hook?.sleep) return Number(hook.sleep.seconds);
  const cmd = hook?.exec?.command as string[] | undefined;
  return cmd && /(^|\/)sleep$/.test(cmd[0]!) ? Number(cmd[1]) : 0;
}

describe('deploy/kubernetes', () => {
  test('has a collector workload, its Service, a PodDisruptionBudget and an autoscaler', () => {
    expect(byKind('StatefulSet')).toHaveLength(1);
    for (const kind of ['Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'ConfigMap']) expect(byKind(kind).length).toBeGreaterThan(0);
  });

  test('every manifest is valid against its Kubernetes schema', () => {
    expect(manifests.flatMap(schemaErrors)).toEqual([]);
  });

  // One TypeScript program for the manifests and a copy with a typo (a few seconds each time).
  const sts = byKind('StatefulSet')[0]!;
  const typo = parseManifests('typo.yaml', YAML.stringify(sts.doc).replace('terminationGracePeriodSeconds', 'terminationGracePeriodSecond'))[0]!;
  let strictErrors: string[];
  beforeAll(() => {
    strictErrors = unknownFieldErrors([...manifests, typo]);
  });

  test('no manifest has a field its kind does not know', () => {
    expect(strictErrors.filter((e) => !e.startsWith('typo.yaml'))).toEqual([]);
  });

  test('the checks catch a typo in a field name and a value of the wrong type', () => {
    expect(strictErrors.filter((e) => e.startsWith('typo.yaml'))).toEqual([
      expect.stringMatching(/terminationGracePeriodSecond\W+ does not exist in type 'IPodSpec'/),
    ]);
    const wrongType = parseManifests('type.yaml', YAML.stringify(sts.doc).replace(/failureThreshold: 30/, 'failureThreshold: thirty'))[0]!;
    expect(schemaErrors(wrongType)).toEqual([expect.stringContaining('failureThreshold')]);
    expect(schemaErrors({ where: 'x', doc: { apiVersion: 'apps/v1', kind: 'StatefulSett' } })).toEqual([expect.stringContaining('no schema')]);
  });

  describe.each(workloads.map((w) => [w.where, w] as const))('%s', (_where, w) => {
    const c = container(w);
    const pod = w.doc.spec.template.spec;
    const env = envOf(w);

    test('runs the primary, whose settings the collector accepts', () => {
      expect(c.args).toEqual(['node', 'dist/main.js']);
      const known = new Set(Object.values(SECTIONS).flatMap((s) => Object.values(s.options as Section).flatMap((o) => [o.env, ...(o.aliases ?? [])])));
      expect(Object.keys(env).filter((name) => !known.has(name) && !LIBRARY_VARIABLES.has(name))).toEqual([]);
      expect(() => loadConfig(env)).not.toThrow();
    });

    test('forks one worker per CPU of its limit', () => {
      const workers = c.env.find((e: Obj) => e.name === 'WORKERS');
      expect(workers.valueFrom.resourceFieldRef).toMatchObject({ containerName: c.name, resource: 'limits.cpu' });
      expect(cpuCores(c.resources.limits.cpu)).toBeGreaterThan(0);
      expect(c.resources.requests.memory).toBe(c.resources.limits.memory);
    });

    test('liveness on /__lbheartbeat__, readiness on /__heartbeat__, on the port the workers listen on', () => {
      const port = c.ports.find((p: Obj) => p.name === 'http');
      expect(String(port.containerPort)).toBe(env.PORT ?? '8000');
      expect(c.livenessProbe.httpGet).toEqual({ path: '/__lbheartbeat__', port: 'http' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/__lbheartbeat__', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/__heartbeat__', port: 'http' });
    });

    test('the grace period covers the preStop sleep and the whole drain (GRACEFUL_TIMEOUT)', () => {
      const preStop = preStopSeconds(c);
      expect(preStop).toBeGreaterThanOrEqual(5);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + Number(env.GRACEFUL_TIMEOUT ?? 30));
    });

    test('runs as a non-root user on a read-only root file system', () => {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    });

    test('keeps the spool on a persistent volume the size of CRASHMOVER_SPOOL_MAX_BYTES, or has no spool', () => {
      if (env.CRASHMOVER_SPOOL === 'off') {
        expect(w.doc.kind).toBe('Deployment');
        return;
      }
      const dir = env.CRASHMOVER_SPOOL_DIR!;
      const mount = (c.volumeMounts as Obj[]).find((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`));
      expect(mount).toBeDefined();
      // A claim template: the same claim follows the pod to its replacement. Not an emptyDir or a hostPath.
      const claim = (w.doc.spec.volumeClaimTemplates as Obj[] | undefined)?.find((t) => t.metadata.name === mount!.name);
      expect(claim).toBeDefined();
      expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
      expect(bytes(env.CRASHMOVER_SPOOL_MAX_BYTES!)).toBeLessThan(bytes(claim!.spec.resources.requests.storage));
      expect(w.doc.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenScaled: 'Retain', whenDeleted: 'Retain' });
    });
  });

  test('the Services, the PodDisruptionBudget and the autoscaler select the collector pods', () => {
    const labels = sts.doc.spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const svc of byKind('Service')) expect([svc.where, selects(svc.doc.spec.selector)]).toEqual([svc.where, true]);
    for (const pdb of byKind('PodDisruptionBudget')) expect([pdb.where, selects(pdb.doc.spec.selector.matchLabels)]).toEqual([pdb.where, true]);
    expect(byKind('Service').map((s) => s.doc.metadata.name)).toContain(sts.doc.spec.serviceName);
    const hpa = byKind('HorizontalPodAutoscaler')[0]!;
    expect(hpa.doc.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.doc.metadata.name });
  });
});
