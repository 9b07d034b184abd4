/**
 * Loading fauxqs (ESM-only) from CommonJS / ts-jest: a real dynamic import;
 * under Jest (a vm context without --experimental-vm-modules) that import is
 * compiled in the main context with Node's default ESM loader.
 */
import vm from 'node:vm';

type Importer = (specifier: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A dynamic import TypeScript does not rewrite to require(). */
const nativeImport = new Function('s', 'return import(s)') as Importer;

let mainContextImport: Importer | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a module's namespace, whatever it exports
function importInMainContext(specifier: string): Promise<any> {
  if (!mainContextImport) {
    // Node ≥ 20.12: compile the import in the main context with the default loader.
    const loader = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    if (!loader) throw new Error('loading fauxqs (ESM) under Jest needs Node ≥ 20.12 or --experimental-vm-modules');
    const script = new vm.Script('(s) => import(s)', { filename: __filename, importModuleDynamically: loader });
    mainContextImport = script.runInThisContext() as Importer;
  }
  return mainContextImport(specifier);
}

export interface FauxqsModule {
  buildApp(options?: { logger?: boolean; host?: string; defaultRegion?: string }): {
    listen(opts: { port: number; host: string }): Promise<string>;
    close(): Promise<void>;
  };
}

let fauxqsModule: Promise<FauxqsModule> | undefined;
export function loadFauxqs(): Promise<FauxqsModule> {
  fauxqsModule ??= nativeImport('fauxqs').catch((err: NodeJS.ErrnoException) => {
    // Jest runs test code in a vm context whose dynamic import needs --experimental-vm-modules.
    if (err?.code === 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' || /dynamic import callback/i.test(err?.message ?? '')) {
      return importInMainContext('fauxqs');
    }
    throw err;
  });
  return fauxqsModule;
}

// --- the fake ---
