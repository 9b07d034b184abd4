/**
 * The workers' node flags: the primary's own, plus `--max-semi-space-size`
 * when WORKER_MAX_SEMI_SPACE_MB asks for it and neither those flags nor
 * NODE_OPTIONS set it already (an operator's explicit flag wins).
 */
export function workerExecArgv(semiSpaceMb: number, own: string[], nodeOptions = ''): string[] {
  const flag = /--max-semi-space-size\b/;
  if (semiSpaceMb <= 0 || own.some((a) => flag.test(a)) || flag.test(nodeOptions)) return own;
  return [...own, `--max-semi-space-size=${semiSpaceMb}`];
}
