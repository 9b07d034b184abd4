/** The V8 heap sizes the primary gives its workers; 0 leaves V8's own. */
export interface WorkerHeapFlags {
  /** WORKER_MAX_SEMI_SPACE_MB → `--max-semi-space-size`. */
  semiSpaceMb: number;
  /** WORKER_INITIAL_OLD_SPACE_MB → `--initial-old-space-size`. */
  initialOldSpaceMb: number;
}

/**
 * The workers' node flags: the primary's own, plus each heap flag asked for
 * that neither those flags nor NODE_OPTIONS set already (an operator's
 * explicit flag wins).
 */
export function workerExecArgv(heap: WorkerHeapFlags, own: string[], nodeOptions = ''): string[] {
  const wanted: Array<[string, number]> = [
    ['--max-semi-space-size', heap.semiSpaceMb],
    ['--initial-old-space-size', heap.initialOldSpaceMb],
  ];
  const added = wanted
    .filter(([name, mb]) => {
      // V8 takes either spelling: --initial-old-space-size or --initial_old_space_size.
      const flag = new RegExp(`--${name.slice(2).replace(/-/g, '[-_]')}\\b`);
      return mb > 0 && !own.some((a) => flag.test(a)) && !flag.test(nodeOptions);
    })
    .map(([name, mb]) => `${name}=${mb}`);
  return added.length === 0 ? own : [...own, ...added];
}
